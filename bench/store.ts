/**
 * Store benchmark: chunk-pointer writes and lookups at 100k (and, with --million, 1M) pointers,
 * plus the gc pass over them and the disk they take. Usage:
 *   node dist/bench/store.js [--million] [--count N] [--dir DIR] [--concurrency C] [--keep]
 * DIR defaults to a fresh directory under the OS temp dir (same disk as the default store here).
 * Figures are warm-cache (the page cache is not dropped); docs/store.md records them.
 */
import { createHash, randomBytes } from "node:crypto";
import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Digest } from "../src/digest.js";
import { openStore, type Store } from "../src/store/index.js";

const WINDOW = 64;
const STEP = 16;

interface Row {
  what: string;
  ops: number;
  seconds: number;
  usPerOp: number;
  opsPerSec: number;
  p50us?: number;
  p99us?: number;
}

const { values } = parseArgs({
  options: {
    million: { type: "boolean", default: false },
    count: { type: "string" },
    dir: { type: "string" },
    concurrency: { type: "string", default: "16" },
    keep: { type: "boolean", default: false },
  },
});
const concurrency = Number(values.concurrency);
const counts = values.count
  ? [Number(values.count)]
  : values.million
    ? [100_000, 1_000_000]
    : [100_000];

function sha(buf: Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(buf).digest("hex")}`;
}

/** Run `fn(i)` for i in [0, n) with `c` in flight; returns seconds. */
async function pool(n: number, c: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Sequential per-op latencies for percentiles. */
async function latencies(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  return out.sort((a, b) => a - b);
}

function row(what: string, ops: number, seconds: number, lat?: number[]): Row {
  const r: Row = { what, ops, seconds, usPerOp: (seconds * 1e6) / ops, opsPerSec: ops / seconds };
  if (lat && lat.length > 0) {
    r.p50us = lat[Math.floor(lat.length * 0.5)]!;
    r.p99us = lat[Math.floor(lat.length * 0.99)]!;
  }
  return r;
}

async function diskUsage(
  dir: string,
): Promise<{ files: number; apparent: number; allocated: number }> {
  let files = 0;
  let apparent = 0;
  let allocated = 0;
  for (const rel of await readdir(dir, { recursive: true })) {
    const st = await lstat(join(dir, rel));
    allocated += st.blocks * 512;
    if (!st.isDirectory()) {
      files++;
      apparent += st.size;
    }
  }
  return { files, apparent, allocated };
}

async function runOnce(store: Store, n: number): Promise<Row[]> {
  const rows: Row[] = [];
  // One object; pointer i names the 64-byte window at offset 16*i, so every hit verifies.
  const data = randomBytes(n * STEP + WINDOW);
  const { digest: object } = await store.writeObject(data);
  const digests: Digest[] = new Array(n);
  for (let i = 0; i < n; i++) digests[i] = sha(data.subarray(i * STEP, i * STEP + WINDOW));
  const pointer = (i: number) => ({ object, offset: i * STEP, length: WINDOW });

  const sample = Math.min(10_000, Math.floor(n / 10));
  const writeLat = await latencies(sample, (i) => store.putChunkPointer(digests[i]!, pointer(i)));
  const writeSecs = await pool(n - sample, concurrency, (i) =>
    store.putChunkPointer(digests[i + sample]!, pointer(i + sample)),
  );
  rows.push(
    row(`putChunkPointer x${n - sample} (c=${concurrency})`, n - sample, writeSecs, writeLat),
  );

  const lookups = Math.min(n, 100_000);
  const probe = Array.from({ length: lookups }, (_, i) =>
    i % 2 === 0 ? digests[Math.floor(Math.random() * n)]! : sha(randomBytes(8)),
  );
  for (const [name, fn] of [
    ["hasChunk", (d: Digest) => store.hasChunk(d)],
    ["getChunkPointer", (d: Digest) => store.getChunkPointer(d)],
    ["findChunk (read+verify)", (d: Digest) => store.findChunk(d)],
  ] as const) {
    let hits = 0;
    const count = async (i: number) => {
      if (await fn(probe[i]!)) hits++;
    };
    const lat = await latencies(Math.min(sample, lookups), count);
    hits = 0;
    const secs = await pool(lookups, concurrency, count);
    rows.push(
      row(`${name} x${lookups}, 50% hits (c=${concurrency}) [hits ${hits}]`, lookups, secs, lat),
    );
  }

  // gc must read every pointer; keep the object live so nothing is removed.
  await store.putLayer(
    {
      diffId: sha(randomBytes(8)),
      compressedDigest: sha(randomBytes(8)),
      mediaType: "bench",
      format: "zstd:chunked",
      verified: "diff-id",
      objects: [object],
      uncompressedSize: data.length,
    },
    Buffer.from("{}"),
    Buffer.from(""),
  );
  const gcStart = process.hrtime.bigint();
  const gc = await store.gc();
  const gcSecs = Number(process.hrtime.bigint() - gcStart) / 1e9;
  if (gc.removedChunks !== 0) throw new Error(`gc removed ${gc.removedChunks} live pointers`);
  rows.push(row(`gc over ${n} pointers (nothing removed)`, n, gcSecs));
  return rows;
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, concurrency ${concurrency}`);
  for (const n of counts) {
    const dir = values.dir ?? (await mkdtemp(join(tmpdir(), "chunkpull-bench-store-")));
    const store = await openStore(dir);
    const rows = await runOnce(store, n);
    const du = await diskUsage(store.layout.chunksDir);
    console.log(`\n## ${n} chunk pointers in ${dir}`);
    console.log(
      "| operation | ops | total s | µs/op (wall) | ops/s | p50 µs (c=1) | p99 µs (c=1) |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const r of rows) {
      const f = (x?: number) => (x === undefined ? "" : x.toFixed(1));
      console.log(
        `| ${r.what} | ${r.ops} | ${r.seconds.toFixed(2)} | ${f(r.usPerOp)} | ${Math.round(r.opsPerSec)} | ${f(r.p50us)} | ${f(r.p99us)} |`,
      );
    }
    console.log(
      `chunks/: ${du.files} files, ${(du.apparent / 2 ** 20).toFixed(1)} MiB apparent, ` +
        `${(du.allocated / 2 ** 20).toFixed(1)} MiB allocated (${Math.round(du.allocated / du.files)} B/pointer incl. dirs)`,
    );
    if (!values.keep) await rm(dir, { recursive: true, force: true });
  }
}

await main();
