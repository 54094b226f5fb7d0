/**
 * Atomic file creation: write to a temp file in the store's `tmp/` (same filesystem), hash while
 * writing, optionally fsync, then rename into place. Readers therefore see either nothing or the
 * complete file; a crash leaves only a temp file named after the writer's pid, which gc removes
 * once that pid is gone.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Algorithm, createHasher, type Digest } from "../digest.js";
import { storeIoError } from "./io-errors.js";

export interface TempFile {
  path: string;
  digest: Digest;
  size: number;
}

/** `<pid>-<random>.tmp`: the pid lets gc tell a crashed writer's leftovers from live work. */
export function tempName(tmpDir: string): string {
  return join(tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}.tmp`);
}

/** The writer pid encoded in a temp file name, if any. */
export function tempOwner(name: string): number | undefined {
  const m = /^(\d+)-[0-9a-f]+\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Stream `source` into a new temp file, hashing as it goes. On any error the temp file is
 * removed and the error rethrown, so a failed write leaves nothing behind.
 */
export async function writeTemp(
  tmpDir: string,
  source: AsyncIterable<Uint8Array> | Uint8Array,
  options: {
    algorithm?: Algorithm;
    fsync: boolean;
    mode?: number;
    /** mtime (seconds) to set before the fsync: the store's integrity stamp for objects. */
    mtime?: number;
    /** What is being written, for error messages ("object sha256:...", "layer ... record"). */
    what?: string;
  },
): Promise<TempFile> {
  const path = tempName(tmpDir);
  const hasher = createHasher(options.algorithm ?? "sha256");
  let size = 0;
  const doing = `writing ${options.what ?? "a temp file"}`;
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "wx", options.mode ?? 0o644);
  } catch (err) {
    throw storeIoError(err, doing, path);
  }
  try {
    const pieces = source instanceof Uint8Array ? [source] : source;
    for await (const piece of pieces) {
      hasher.update(piece);
      size += piece.byteLength;
      let written = 0;
      while (written < piece.byteLength) {
        const { bytesWritten } = await fh.write(piece, written, piece.byteLength - written);
        written += bytesWritten;
      }
    }
    if (options.mtime !== undefined) await fh.utimes(options.mtime, options.mtime);
    if (options.fsync) await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => {});
    await discardTemp(path);
    throw storeIoError(err, doing, path);
  }
  return { path, digest: hasher.digest(), size };
}

/** Rename a temp file into place, creating the fan-out directory on first use. */
export async function commitTemp(tmpPath: string, finalPath: string): Promise<void> {
  try {
    await rename(tmpPath, finalPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      throw storeIoError(err, "renaming into", finalPath);
    try {
      await mkdir(dirname(finalPath), { recursive: true });
      await rename(tmpPath, finalPath);
    } catch (err2) {
      throw storeIoError(err2, "renaming into", finalPath);
    }
  }
}

export async function discardTemp(tmpPath: string): Promise<void> {
  await unlink(tmpPath).catch(() => {});
}

/** fsync a directory so renames into it survive a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
