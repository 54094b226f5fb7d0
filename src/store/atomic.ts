/**
 * Atomic file creation: write to a temp file in the store's `tmp/` (same filesystem), hash while
 * writing, optionally fsync, then rename into place. Readers therefore see either nothing or the
 * complete file; a crash leaves only a temp file named after the writer's pid, which gc removes
 * once that pid is gone.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fsyncSync,
  futimesSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Algorithm, createHasher, type Digest } from "../digest.js";
import { storeIoError } from "./io-errors.js";

export interface TempFile {
  path: string;
  digest: Digest;
  size: number;
}

/** Random per process, so a later process that reuses this pid does not reuse its names. */
const TEMP_PREFIX = randomBytes(6).toString("hex");
let tempSeq = 0;

/**
 * `<pid>-<hex>.tmp`: the pid lets gc tell a crashed writer's leftovers from live work. The hex
 * part is a per-process random prefix and a counter (no random draw per file); temp files are
 * created exclusively, so a name that somehow exists already fails instead of being shared.
 */
export function tempName(tmpDir: string): string {
  return join(
    tmpDir,
    `${process.pid}-${TEMP_PREFIX}${(tempSeq++).toString(16).padStart(8, "0")}.tmp`,
  );
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
  options: TempOptions,
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

export interface TempOptions {
  algorithm?: Algorithm;
  fsync: boolean;
  mode?: number;
  /** mtime (seconds) to set before the fsync: the store's integrity stamp for objects. */
  mtime?: number;
  /** What is being written, for error messages ("object sha256:...", "layer ... record"). */
  what?: string;
}

const SYNC_CREATE =
  constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW;

/**
 * A temp file written with synchronous calls on the calling thread, hashed as it is written:
 * the same file `writeTemp` makes, for writers of many files. Writing a small file into the page
 * cache takes a few microseconds per call, while each asynchronous call is a round trip through
 * libuv's thread pool (five of them per file: open, write, futimes, close, rename), which
 * dominated a pull of thousands of small files. Every failure removes the temp file before it
 * is rethrown (a full disk as a typed ENOSPC), so nothing partial is left.
 */
export class SyncTempFile {
  readonly path: string;
  size = 0;
  private fd: number | undefined;
  private readonly hasher: ReturnType<typeof createHasher>;
  private readonly doing: string;

  constructor(
    tmpDir: string,
    private readonly options: TempOptions,
  ) {
    this.path = tempName(tmpDir);
    this.hasher = createHasher(options.algorithm ?? "sha256");
    this.doing = `writing ${options.what ?? "a temp file"}`;
    try {
      this.fd = openSync(this.path, SYNC_CREATE, options.mode ?? 0o644);
    } catch (err) {
      throw storeIoError(err, this.doing, this.path);
    }
  }

  /** Append `piece` (hashed first). */
  write(piece: Uint8Array): void {
    this.hasher.update(piece);
    this.size += piece.byteLength;
    try {
      let written = 0;
      while (written < piece.byteLength)
        written += writeSync(this.fd!, piece, written, piece.byteLength - written);
    } catch (err) {
      this.abort();
      throw storeIoError(err, this.doing, this.path);
    }
  }

  /** Stamp, optionally fsync, and close: the finished temp file. */
  finish(): TempFile {
    try {
      const { mtime, fsync } = this.options;
      if (mtime !== undefined) futimesSync(this.fd!, mtime, mtime);
      if (fsync) fsyncSync(this.fd!);
      const fd = this.fd!;
      this.fd = undefined;
      closeSync(fd);
    } catch (err) {
      this.abort();
      throw storeIoError(err, this.doing, this.path);
    }
    return { path: this.path, digest: this.hasher.digest(), size: this.size };
  }

  /** Close and remove the temp file (best effort; never throws). */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already failing: the unlink below is what matters
      }
      this.fd = undefined;
    }
    discardTempSync(this.path);
  }
}

/** commitTemp with synchronous calls (see SyncTempFile for why). */
export function commitTempSync(tmpPath: string, finalPath: string): void {
  try {
    renameSync(tmpPath, finalPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT")
      throw storeIoError(err, "renaming into", finalPath);
    try {
      mkdirSync(dirname(finalPath), { recursive: true });
      renameSync(tmpPath, finalPath);
    } catch (err2) {
      throw storeIoError(err2, "renaming into", finalPath);
    }
  }
}

export function discardTempSync(tmpPath: string): void {
  try {
    unlinkSync(tmpPath);
  } catch {
    // gone already, or the store is read-only: gc removes leftovers by their pid
  }
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

/** fsync a file's data (the barrier for objects written without their own fsync). */
export const fsyncFile: (path: string) => Promise<void> = fsyncDir;
