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
import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { type Digest, parseDigest } from "../digest.js";
import { DigestMismatchError } from "../errors.js";
import { commitTemp, discardTemp, fsyncDir, fsyncFile, writeTemp } from "./atomic.js";
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

/** syncfs(2) of the filesystem holding `path`, through coreutils' `sync -f`; false if unavailable. */
function syncFileSystem(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile("sync", ["-f", path], { timeout: 120_000 }, (err) => resolve(!err));
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
   * `expected` when given. Nothing is visible in the store until `commit`.
   */
  async add(
    source: AsyncIterable<Uint8Array> | Uint8Array,
    expected?: Digest,
  ): Promise<{ digest: Digest; size: number }> {
    const temp = await writeTemp(this.layout.tmpDir, source, objectTempOptions(expected, false));
    if (expected && temp.digest !== expected) {
      await discardTemp(temp.path);
      throw new DigestMismatchError("object written to the store", expected, temp.digest);
    }
    this.staged.push({ temp: temp.path, digest: temp.digest });
    return { digest: temp.digest, size: temp.size };
  }

  /** Make every staged object durable, then visible (see the module comment). */
  async commit(): Promise<Digest[]> {
    const batch = this.staged;
    this.staged = [];
    if (batch.length === 0) return [];
    try {
      if (!(this.barrier === "syncfs" && (await syncFileSystem(this.layout.tmpDir))))
        await each(batch, (s) => fsyncFile(s.temp));
      await each(batch, (s) => commitTemp(s.temp, this.layout.object(s.digest)));
    } catch (err) {
      await each(batch, (s) => discardTemp(s.temp));
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
    await each(batch, (s) => discardTemp(s.temp));
  }
}
