/**
 * `npm run bench:codec`: convert and rebuild throughput of the layer codecs, next to the zstd CLI
 * and sha256sum on the same data (the hardware's compression and hashing limits).
 * Data: the `rootfs` reference vector and a generated tar (500 MB by default;
 * CHUNKPULL_BENCH_MB=N to change). Each operation runs in its own process to report its peak RSS.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSyntheticTar } from "./gen-tar.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const work = join(root, ".bench-data");
const op = join(here, "codec-op.js");

interface Row {
  data: string;
  op: string;
  seconds: number;
  mbps: number;
  maxRssMiB: number | string;
  note: string;
}

function runOp(args: string[]): {
  seconds: number;
  inputBytes: number;
  outputBytes: number;
  maxRssMiB: number;
  digest: string;
} {
  const out = execFileSync(process.execPath, [op, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** Times an external command with GNU time: wall seconds and peak RSS. */
function timeTool(cmd: string, args: string[]): { seconds: number; maxRssMiB: number } {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", cmd, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [secs, kib] = r.stderr.trim().split("\n").pop()!.split(" ");
  return { seconds: Number(secs), maxRssMiB: Math.round(Number(kib) / 1024) };
}

async function benchTar(label: string, tar: string, rows: Row[]) {
  const size = (await stat(tar)).size;
  const mb = size / 1e6;
  for (const format of ["zstd:chunked", "estargz"]) {
    const blob = join(work, `${label}.${format.replace(":", "-")}.blob`);
    const c = runOp(["convert", format, tar, blob]);
    rows.push({
      data: label,
      op: `convert ${format}`,
      seconds: c.seconds,
      mbps: mb / c.seconds,
      maxRssMiB: c.maxRssMiB,
      note: `blob ${(c.outputBytes / 1e6).toFixed(1)} MB`,
    });
    const r = runOp(["rebuild", blob, `${blob}.annotations.json`]);
    const ok = r.digest === c.digest || format === "estargz";
    rows.push({
      data: label,
      op: `rebuild ${format}`,
      seconds: r.seconds,
      mbps: mb / r.seconds,
      maxRssMiB: r.maxRssMiB,
      note: ok ? "digest ok" : "DIGEST MISMATCH",
    });
  }
  const z = timeTool("zstd", ["-q", "-f", "-3", "-T1", tar, "-o", join(work, `${label}.zst`)]);
  rows.push({
    data: label,
    op: "zstd -3 -T1 (CLI)",
    seconds: z.seconds,
    mbps: mb / z.seconds,
    maxRssMiB: z.maxRssMiB,
    note: "",
  });
  const zd = timeTool("zstd", [
    "-q",
    "-d",
    "-f",
    join(work, `${label}.zst`),
    "-o",
    join(work, `${label}.out`),
  ]);
  rows.push({
    data: label,
    op: "zstd -d (CLI)",
    seconds: zd.seconds,
    mbps: mb / zd.seconds,
    maxRssMiB: zd.maxRssMiB,
    note: "",
  });
  const s = timeTool("sha256sum", [tar]);
  rows.push({
    data: label,
    op: "sha256sum",
    seconds: s.seconds,
    mbps: mb / s.seconds,
    maxRssMiB: s.maxRssMiB,
    note: "",
  });
  await rm(join(work, `${label}.out`), { force: true });
}

async function main() {
  await mkdir(work, { recursive: true });
  const rows: Row[] = [];
  const rootfs = join(root, "test", "fixtures", "vectors", "rootfs", "input.tar");
  if (existsSync(rootfs)) await benchTar("rootfs", rootfs, rows);
  const mb = Number(process.env.CHUNKPULL_BENCH_MB ?? 500);
  const synthetic = join(work, `synthetic-${mb}MB.tar`);
  if (!existsSync(synthetic)) await writeSyntheticTar(synthetic, mb * 1e6, 42);
  await benchTar(`synthetic-${mb}MB`, synthetic, rows);
  console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
  console.log("| data | operation | seconds | MB/s (of tar) | peak RSS MiB | note |");
  console.log("|---|---|---:|---:|---:|---|");
  for (const r of rows) {
    console.log(
      `| ${r.data} | ${r.op} | ${r.seconds.toFixed(2)} | ${r.mbps.toFixed(0)} | ${r.maxRssMiB} | ${r.note} |`,
    );
  }
}

await main();
