/** Shared helpers for the store tests (no tests here). */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Digest, digestOf } from "../../src/digest.js";
import {
  type LayerRecordInput,
  openStore,
  type Store,
  type StoreOptions,
} from "../../src/store/index.js";

const created: string[] = [];
process.on("exit", () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

export async function tempStore(options?: StoreOptions): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), "chunkpull-store-test-"));
  created.push(dir);
  return openStore(dir, options);
}

export async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** URL of the compiled store module, for child processes. */
export const STORE_MODULE = pathToFileURL(
  join(import.meta.dirname, "..", "..", "src", "store", "index.js"),
).href;

export interface ChildResult {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run ES module code in a child node process; resolves with its exit code/signal and stdout. */
export function runChild(
  code: string,
  args: string[] = [],
  onStdout?: (text: string, kill: () => void) => void,
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", code, "--", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
      onStdout?.(stdout, () => child.kill("SIGKILL"));
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ pid: child.pid!, code, signal, stdout, stderr }));
  });
}

/** A plausible layer record input referencing `objects`. */
export function layerInput(objects: Digest[], label = "layer"): LayerRecordInput {
  return {
    diffId: digestOf(Buffer.from(`diff:${label}`)),
    compressedDigest: digestOf(Buffer.from(`blob:${label}`)),
    mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
    format: "zstd:chunked",
    tocDigest: digestOf(Buffer.from(`toc:${label}`)),
    verified: "diff-id",
    objects,
    uncompressedSize: 12345,
  };
}
