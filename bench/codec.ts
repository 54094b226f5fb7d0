/**
 * `npm run bench:codec`: convert and rebuild throughput of the layer codecs, next to the zstd and
 * gzip CLIs and sha256sum on the same data (the hardware's compression and hashing limits).
 * Data: the `rootfs` reference vector (2 MB: every operation is repeated, best run kept) and a
 * generated tar (CHUNKPULL_BENCH_MB, default 500). Each operation runs in its own process so its
 * peak RSS is its own. Every rebuild is checked against the digest convert reported.
 * First the per-byte kernels alone, JavaScript against WebAssembly (bench/kernels.ts).
 * Results: markdown tables on stdout and .bench-data/codec-results.json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, openSync } from "node:fs";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeSyntheticTar } from "./gen-tar.js";
import { kernelRows, kernelTable } from "./kernels.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const work = join(root, ".bench-data");
const op = join(here, "codec-op.js");

/** Runs per operation on small data (best kept); large data runs once unless overridden. */
const SMALL_REPEAT = 5;
const SMALL_BYTES = 64e6;

interface Row {
  data: string;
  op: string;
  seconds: number;
  mbps: number;
  maxRssMiB: number;
  note: string;
}

interface OpResult {
  seconds: number;
  runs: number[];
  inputBytes: number;
  outputBytes: number;
  maxRssMiB: number;
  digest: string;
}

function runOp(args: string[]): OpResult {
  const out = execFileSync(process.execPath, [op, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** One run under GNU time: wall seconds (hrtime, sub-millisecond) and peak RSS. */
function timedRun(cmd: string, args: string[], stdoutTo: string) {
  const fd = openSync(stdoutTo, "w");
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], {
      encoding: "utf8",
      stdio: ["ignore", fd, "pipe"],
      maxBuffer: 1 << 20,
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
    const kib = Number(r.stderr.trim().split("\n").pop());
    return { seconds, maxRssMiB: Math.round(kib / 1024) };
  } finally {
    closeSync(fd);
  }
}

/** Cost of starting a process under GNU time, subtracted so 2 MB runs are not mostly exec. */
let spawnOverhead: number | undefined;
function processStartSeconds(): number {
  if (spawnOverhead === undefined) {
    spawnOverhead = Math.min(
      ...Array.from({ length: 5 }, () => timedRun("true", [], "/dev/null").seconds),
    );
  }
  return spawnOverhead;
}

/**
 * Times an external command, best of `repeat` runs, minus the process start cost.
 * `stdoutTo` receives the command's stdout (a file, or /dev/null).
 */
function timeTool(
  cmd: string,
  args: string[],
  repeat: number,
  stdoutTo = "/dev/null",
): { seconds: number; maxRssMiB: number } {
  let best = { seconds: Number.POSITIVE_INFINITY, maxRssMiB: 0 };
  for (let i = 0; i < repeat; i++) {
    const r = timedRun(cmd, args, stdoutTo);
    if (r.seconds < best.seconds) best = r;
  }
  return { ...best, seconds: Math.max(best.seconds - processStartSeconds(), 1e-4) };
}

async function sha256OfFile(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const b of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(b as Buffer);
  return `sha256:${h.digest("hex")}`;
}

async function benchTar(label: string, tar: string, rows: Row[]): Promise<void> {
  const size = (await stat(tar)).size;
  const mb = size / 1e6;
  const repeat = Number(
    process.env.CHUNKPULL_BENCH_REPEAT ?? (size < SMALL_BYTES ? SMALL_REPEAT : 1),
  );
  const tarDigest = await sha256OfFile(tar);
  const row = (opName: string, r: { seconds: number; maxRssMiB: number }, note = "") =>
    rows.push({
      data: label,
      op: opName,
      seconds: r.seconds,
      mbps: mb / r.seconds,
      maxRssMiB: r.maxRssMiB,
      note,
    });
  process.stderr.write(`${label}: ${mb.toFixed(1)} MB, best of ${repeat}\n`);

  for (const format of ["zstd:chunked", "estargz"]) {
    const blob = join(work, `${label}.${format.replace(":", "-")}.blob`);
    process.stderr.write(`  convert ${format}\n`);
    const c = runOp(["convert", format, tar, blob, String(repeat)]);
    // zstd:chunked keeps the tar byte for byte; eStargz rewrites it (TOC and landmark entries).
    const convertOk = format === "estargz" || c.digest === tarDigest;
    row(
      `convert ${format}`,
      c,
      `blob ${(c.outputBytes / 1e6).toFixed(1)} MB${convertOk ? "" : ", WRONG DIGEST"}`,
    );
    process.stderr.write(`  rebuild ${format}\n`);
    const r = runOp(["rebuild", blob, `${blob}.annotations.json`, String(repeat)]);
    row(`rebuild ${format}`, r, r.digest === c.digest ? "digest verified" : "DIGEST MISMATCH");
  }

  process.stderr.write("  reference tools\n");
  const zst = join(work, `${label}.zst`);
  const gz = join(work, `${label}.gz`);
  row("zstd -3 -T1", timeTool("zstd", ["-q", "-f", "-3", "-T1", tar, "-o", zst], repeat));
  row("zstd -d", timeTool("zstd", ["-q", "-d", "-c", zst], repeat));
  row("gzip -9", timeTool("gzip", ["-9", "-c", tar], repeat, gz));
  row("gzip -d", timeTool("gzip", ["-d", "-c", gz], repeat));
  row("sha256sum", timeTool("sha256sum", [tar], repeat));
  await rm(zst, { force: true });
  await rm(gz, { force: true });
}

function tool(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8" }).trim().split("\n")[0]!;
  } catch {
    return "unavailable";
  }
}

function machine() {
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    nproc: availableParallelism(),
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    zstd: tool("zstd", ["--version"]),
    gzip: tool("gzip", ["--version"]),
    loadBefore: loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
    loadAfter: "",
    date: new Date().toISOString(),
  };
}

async function main() {
  await mkdir(work, { recursive: true });
  const info = machine();
  process.stderr.write("kernels: JavaScript and WebAssembly\n");
  const kernels = kernelRows();
  const rows: Row[] = [];
  const rootfs = join(root, "test", "fixtures", "vectors", "rootfs", "input.tar");
  if (existsSync(rootfs)) await benchTar("rootfs", rootfs, rows);
  const mb = Number(process.env.CHUNKPULL_BENCH_MB ?? 500);
  const synthetic = join(work, `synthetic-${mb}MB.tar`);
  if (!existsSync(synthetic)) {
    process.stderr.write(`generating ${synthetic}\n`);
    await writeSyntheticTar(synthetic, mb * 1e6, 42);
  }
  await benchTar(`synthetic-${mb}MB`, synthetic, rows);
  info.loadAfter = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  await writeFile(
    join(work, "codec-results.json"),
    `${JSON.stringify({ info, kernels, rows }, null, 2)}\n`,
  );

  console.log(
    `${info.cpu}, nproc ${info.nproc}, ${info.memGiB} GiB, node ${info.node} ${info.platform}; ` +
      `${info.zstd}; ${info.gzip}; load ${info.loadBefore} -> ${info.loadAfter}; ${info.date}\n`,
  );
  console.log(`${kernelTable(kernels)}\n`);
  console.log("| data | operation | seconds | MB/s (of tar) | peak RSS MiB | note |");
  console.log("|---|---|---:|---:|---:|---|");
  for (const r of rows) {
    console.log(
      `| ${r.data} | ${r.op} | ${r.seconds.toFixed(2)} | ${r.mbps.toFixed(0)} | ${r.maxRssMiB} | ${r.note} |`,
    );
  }
}

await main();
