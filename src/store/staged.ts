/**
 * Bulk object writes with one durability barrier instead of an fsync per object: for pulls that
 * write many objects at once (a cold or full pull). Each object is streamed to a temp file,
 * hashed, stamped and verified exactly like `writeObject`, but neither fsync'd nor made visible. `commit`
 * then makes the whole batch durable at once and only then renames it into place:
 *
 *   1. barrier: the temp files' data reaches the disk (syncfs of the store's filesystem, or
 *      where that is unavailable an fsync of every temp file, issued together);
 *   2. renames into `objects/`;
 *   3. barrier again, so the renames are durable before the caller writes a layer record.
 *
 * So the crash guarantees of `writeObject` hold: a name under `objects/` only ever appears for
 * complete, verified, durable content; a crash before step 2 leaves temp files named after the
 * writer's pid, which gc removes.
 */
import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { type Digest, parseDigest } from "../digest.js";
import { DigestMismatchError } from "../errors.js";
import {
  commitTempSync,
  discardTempSync,
  fsyncDir,
  fsyncFile,
  SyncTempFile,
  type TempFile,
} from "./atomic.js";
import type { StoreLayout } from "./layout.js";
import { objectTempOptions } from "./objects.js";

/** How commit makes data durable: "syncfs" tries `sync -f` first; "fsync" syncs file by file. */
export type BarrierKind = "syncfs" | "fsync";

const SYNC_CONCURRENCY = 16;

async function each<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_CONCURRENCY, items.length) }, worker));
}

/**
 * syncfs(2) of the filesystem holding `path`, through coreutils' `sync -f`; false if unavailable.
 * No pipes: the child's output is of no use, and setting them up is most of a spawn's cost.
 */
function syncFileSystem(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("sync", ["-f", path], { stdio: "ignore", timeout: 120_000 });
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0));
  });
}

export class StagedObjects {
  private staged: Array<{ temp: string; digest: Digest }> = [];

  constructor(
    private readonly layout: StoreLayout,
    private readonly barrier: BarrierKind = "syncfs",
  ) {}

  /** Objects staged and not yet committed. */
  get size(): number {
    return this.staged.length;
  }

  /**
   * Stream `source` to a temp file, hashed (with `expected`'s algorithm) and verified against
   * `expected` when given. Nothing is visible in the store until `commit`. Written with
   * synchronous calls (atomic.ts SyncTempFile): staged writes are page-cache writes of many
   * files, where the thread pool's round trips cost far more than the calls themselves.
   */
  async add(
    source: AsyncIterable<Uint8Array> | Uint8Array | readonly Uint8Array[],
    expected?: Digest,
  ): Promise<{ digest: Digest; size: number }> {
    if (source instanceof Uint8Array || Array.isArray(source))
      return this.addSync(source as Uint8Array | readonly Uint8Array[], expected);
    const temp = new SyncTempFile(this.layout.tmpDir, objectTempOptions(expected, false));
    let file: TempFile;
    try {
      for await (const piece of source as AsyncIterable<Uint8Array>) temp.write(piece);
      file = temp.finish();
    } catch (err) {
      temp.abort();
      throw err;
    }
    return this.stage(file, expected);
  }

  /** `add` for bytes already in memory (one piece or several, written in order), synchronously. */
  addSync(
    source: Uint8Array | readonly Uint8Array[],
    expected?: Digest,
  ): { digest: Digest; size: number } {
    const temp = new SyncTempFile(this.layout.tmpDir, objectTempOptions(expected, false));
    let file: TempFile;
    try {
      if (source instanceof Uint8Array) temp.write(source);
      else for (const piece of source) temp.write(piece);
      file = temp.finish();
    } catch (err) {
      temp.abort();
      throw err;
    }
    return this.stage(file, expected);
  }

  private stage(file: TempFile, expected: Digest | undefined): { digest: Digest; size: number } {
    if (expected && file.digest !== expected) {
      discardTempSync(file.path);
      throw new DigestMismatchError("object written to the store", expected, file.digest);
    }
    this.staged.push({ temp: file.path, digest: file.digest });
    return { digest: file.digest, size: file.size };
  }

  /** Make every staged object durable, then visible (see the module comment). */
  async commit(): Promise<Digest[]> {
    const batch = this.staged;
    this.staged = [];
    if (batch.length === 0) return [];
    try {
      if (!(this.barrier === "syncfs" && (await syncFileSystem(this.layout.tmpDir))))
        await each(batch, (s) => fsyncFile(s.temp));
      // Renames in a plain loop: synchronous metadata calls, see add().
      for (const s of batch) commitTempSync(s.temp, this.layout.object(s.digest));
    } catch (err) {
      // Whatever was renamed already is complete and durable; the rest must not stay behind.
      for (const s of batch) discardTempSync(s.temp);
      throw err;
    }
    const dirs = [...new Set(batch.map((s) => dirname(this.layout.object(s.digest))))];
    if (!(this.barrier === "syncfs" && (await syncFileSystem(this.layout.objectsDir))))
      await each(dirs, fsyncDir);
    return batch.map((s) => parseDigest(s.digest, "object digest"));
  }

  /** Drop every staged object (after a failure). */
  async discard(): Promise<void> {
    const batch = this.staged;
    this.staged = [];
    for (const s of batch) discardTempSync(s.temp);
  }
}
