/**
 * Helpers for the CLI end-to-end tests: run the BUILT command line (dist/src/cli/main.js) as a
 * child process, with a small shared limit on how many run at once, and hash files independently
 * of the code under test.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pLimit from "p-limit";
import { type BlobInfo, CASES, type CaseInfo, VECTORS } from "../helpers/vectors.js";

export { type BlobInfo, CASES, type CaseInfo, VECTORS };

const HERE = dirname(fileURLToPath(import.meta.url));
// dist/test/cli -> repository root
export const ROOT = join(HERE, "..", "..", "..");
export const CLI = join(ROOT, "dist", "src", "cli", "main.js");

/** Children at once per test file (two files run side by side under `npm test`). */
const limit = pLimit(Number(process.env.CHUNKPULL_TEST_CLI_JOBS ?? 2));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli/main.js ...args`; never rejects on a non-zero exit. */
export function runCli(args: string[]): Promise<CliResult> {
  return limit(
    () =>
      new Promise<CliResult>((resolve, reject) => {
        execFile(
          process.execPath,
          [CLI, ...args],
          { encoding: "utf8", maxBuffer: 16 << 20, timeout: 60_000 },
          (err, stdout, stderr) => {
            if (err && typeof err.code !== "number") {
              reject(err);
              return;
            }
            resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
          },
        );
      }),
  );
}

/** sha256 of a file, streamed, as `sha256:hex`. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const b of createReadStream(path)) h.update(b as Buffer);
  return `sha256:${h.digest("hex")}`;
}

/** Runs `zstd -d -c FILE` (the zstd CLI) and returns sha256 and size of what it prints. */
export function zstdDecompressDigest(path: string): Promise<{ digest: string; size: number }> {
  return limit(
    () =>
      new Promise((resolve, reject) => {
        const child = spawn("zstd", ["-d", "-c", "-q", path], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        const h = createHash("sha256");
        let size = 0;
        let stderr = "";
        child.stdout.on("data", (b: Buffer) => {
          h.update(b);
          size += b.length;
        });
        child.stderr.on("data", (b: Buffer) => {
          stderr += b.toString();
        });
        child.on("error", reject);
        child.on("close", (code) => {
          if (code !== 0) reject(new Error(`zstd -d ${path} exited ${code}: ${stderr}`));
          else resolve({ digest: `sha256:${h.digest("hex")}`, size });
        });
      }),
  );
}

/** True when the zstd CLI can be run (CI installs the Debian package). */
export function haveZstdCli(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile("zstd", ["--version"], (err) => resolve(!err));
  });
}

/** Case names that have a blob of `format`, slow ones (large inputs) first so they start early. */
export function casesWith(format: string): string[] {
  return Object.keys(CASES)
    .filter((c) => CASES[c]!.blobs[format] !== undefined)
    .sort((a, b) => CASES[b]!.input_size - CASES[a]!.input_size);
}

export function vector(name: string, file: string): string {
  return join(VECTORS, name, file);
}

/** The annotations file that sits next to each blob in the vectors. */
export function annotationsFile(name: string, format: string): string {
  const path = vector(name, `${format}.annotations.json`);
  if (!existsSync(path)) throw new Error(`vector ${name} has no ${format}.annotations.json`);
  return path;
}

export interface TocEntry {
  type: string;
  name: string;
  size?: number;
  chunkType?: string;
  offset?: number;
  endOffset?: number;
}

/** A reference TOC (`*.toc.json`) of the vectors; Go writes `"entries": null` when empty. */
export function referenceToc(name: string, format: string): { entries: TocEntry[] } {
  const toc = JSON.parse(readFileSync(vector(name, `${format}.toc.json`), "utf8"));
  return { ...toc, entries: toc.entries ?? [] };
}

/**
 * Chunk count of a c/storage TOC, counted the way the format defines chunks: every regular file
 * with payload starts one, every `chunk` entry adds one.
 */
export function tocChunkCount(toc: { entries: TocEntry[] }): number {
  return toc.entries.filter((e) => (e.type === "reg" && (e.size ?? 0) > 0) || e.type === "chunk")
    .length;
}

export async function makeTempDir(prefix: string): Promise<{
  dir: string;
  path: (name: string) => string;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), `chunkpull-cli-${prefix}-`));
  return {
    dir,
    path: (name) => join(dir, name),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Fails loudly when the CLI was not built (the tests run the compiled command). */
export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run \`npx tsc -p tsconfig.json\` first`);
}
