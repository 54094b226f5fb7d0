/**
 * `node dist/bench/startup.js [runs]`: start-up cost, each case as a fresh process, medians of
 * interleaved runs: bare node, importing the library, the pull engine and the zstd:chunked
 * reader, `chunkpull --help`, `chunkpull --version`. Wall and CPU time (user + system: steadier
 * than wall on a shared machine). Set NODE_DISABLE_COMPILE_CACHE=1 to measure without node's
 * compile cache (node >= 22.1; the CLI enables it, see src/cli/compile-cache.ts).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { measure, median } from "./pull/measure.js";

const here = dirname(fileURLToPath(import.meta.url));
const lib = join(here, "..", "src", "index.js");
const cli = join(here, "..", "src", "cli", "main.js");
/** The bin entry: the bundled command line (scripts/bundle.mjs) when the build made one. */
const bin = join(here, "..", "..", "bin", "chunkpull.mjs");
const pullEngine = join(here, "..", "src", "pull", "pull.js");
const zstdChunkedReader = join(here, "..", "src", "formats", "zstdchunked", "reader.js");
const importing = (file: string) => [
  "--input-type=module",
  "-e",
  `await import(${JSON.stringify(file)})`,
];

export const STARTUP_CASES: Array<[string, string[]]> = [
  ["node -e 0 (bare node)", ["-e", "0"]],
  ["import the library", importing(lib)],
  ["import the pull engine (pull/pull.js)", importing(pullEngine)],
  ["import the zstd:chunked reader", importing(zstdChunkedReader)],
  ["chunkpull --help", [cli, "--help"]],
  ["chunkpull --version", [cli, "--version"]],
  ["bin/chunkpull.mjs --help (bundled)", [bin, "--help"]],
];

export async function startupRows(runs: number) {
  const samples = new Map<string, Array<{ wall: number; cpu: number }>>();
  for (let r = 0; r < runs; r++)
    for (const [name, args] of STARTUP_CASES) {
      const m = await measure(process.execPath, args);
      samples.set(name, [...(samples.get(name) ?? []), m]);
    }
  return STARTUP_CASES.map(([name]) => {
    const xs = samples.get(name)!;
    return { name, wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await startupRows(Number(process.argv[2] ?? 9));
  console.log("| case | wall s (median) | CPU s (median) |\n|---|---:|---:|");
  for (const r of rows) console.log(`| ${r.name} | ${r.wall.toFixed(3)} | ${r.cpu.toFixed(3)} |`);
}
