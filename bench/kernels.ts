/**
 * Throughput of the codec's per-byte loops, JavaScript against WebAssembly, on the same data:
 * CRC-64 (tar-split) and the rolling-checksum chunker. CPU time of this process, best of 3, so
 * other load on the machine distorts it less than wall time would. Run by bench/codec.ts;
 * `node dist/bench/kernels.js` runs it alone.
 */
import { fileURLToPath } from "node:url";
import { binaryContent, textContent } from "../mock-registry/src/image/sample-app.js";
import { Crc64 } from "../src/formats/tarsplit/crc64.js";
import { FileChunker } from "../src/formats/zstdchunked/chunker.js";

export interface KernelRow {
  kernel: string;
  data: string;
  jsMBps: number;
  wasmMBps: number;
}

function cpuMBps(bytes: number, run: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const t = process.cpuUsage();
    run();
    const u = process.cpuUsage(t);
    best = Math.min(best, (u.user + u.system) / 1e6);
  }
  return bytes / 1e6 / best;
}

export function kernelRows(mb = 64): KernelRow[] {
  const size = mb * 1e6;
  // Binary data with short zero runs (like compiled code), and text without zeros.
  const binary = binaryContent(size, 3);
  for (let i = 0; i < binary.length; i += 3000) binary.fill(0, i, i + (i % 7));
  const data: Array<[string, Buffer]> = [
    ["binary with zero runs", binary],
    ["text", textContent(size, 4)],
  ];
  const rows: KernelRow[] = [];
  const piece = 64 << 10;
  for (const [label, d] of data) {
    const crc = (wasm: boolean) => () => {
      const c = new Crc64(wasm);
      for (let o = 0; o < d.length; o += piece) c.update(d.subarray(o, o + piece));
      c.digest();
    };
    const chunk = (wasm: boolean) => () => {
      const c = new FileChunker(wasm);
      for (let o = 0; o < d.length; o += 1 << 20) c.push(d.subarray(o, o + (1 << 20)));
      c.finish();
    };
    rows.push({
      kernel: "CRC-64 (64 KiB pieces)",
      data: label,
      jsMBps: cpuMBps(d.length, crc(false)),
      wasmMBps: cpuMBps(d.length, crc(true)),
    });
    rows.push({
      kernel: "chunker (1 MiB pieces)",
      data: label,
      jsMBps: cpuMBps(d.length, chunk(false)),
      wasmMBps: cpuMBps(d.length, chunk(true)),
    });
  }
  return rows;
}

export function kernelTable(rows: KernelRow[]): string {
  const lines = [
    "| kernel | data | JavaScript MB/s | WebAssembly MB/s | speed-up |",
    "|---|---|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.kernel} | ${r.data} | ${r.jsMBps.toFixed(0)} | ${r.wasmMBps.toFixed(0)} | ${(r.wasmMBps / r.jsMBps).toFixed(2)}x |`,
    ),
  ];
  return lines.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(kernelTable(kernelRows()));
