/**
 * Writes file objects into the store for both pull paths: small files concurrently in the
 * background (bounded in count and bytes), so per-file I/O (temp file, fsync, rename, chunk
 * pointers) overlaps with the next files; large files streamed in line. The first failure is
 * rethrown by `add`, `write` or `drain`.
 *
 * Pulls that write a whole layer's objects (full and cold pulls) use it `staged`: objects go to
 * temp files without an fsync each and become durable and visible together by one barrier in
 * `drain` (store/staged.ts); their `onStored` callbacks (chunk pointers) run after that barrier,
 * so they still only ever point at durable objects.
 */
import type { Digest } from "../digest.js";
import type { StagedObjects } from "../store/staged.js";
import type { Store } from "../store/store.js";

/** Files up to this size are assembled in memory and written in the background. */
export const SMALL_FILE = 1 << 20;
const WRITE_CONCURRENCY = 8;
const WRITE_BUDGET = 32 << 20;

/** Called once the object is durable in the store, with its digest (index its chunks here). */
export type OnStored = (digest: Digest) => Promise<unknown> | unknown;

export interface ObjectWriterOptions {
  /** Stage objects and make them durable together in `drain` (one barrier, no fsync each). */
  staged?: boolean;
  /**
   * Ask the store for each object first (default). Off when the store cannot hold them, e.g.
   * it has no objects at all: the probes would all miss.
   */
  probe?: boolean;
}

export class ObjectWriter {
  written = 0;
  /** Objects the store already held, so not written again. */
  reused = 0;
  private readonly inflight = new Set<Promise<void>>();
  private bytes = 0;
  private failure: unknown;
  private readonly staged: StagedObjects | undefined;
  /** Whether the store is asked for each object first (then callers pass its digest). */
  readonly probes: boolean;
  /** Staged objects whose callbacks wait for the barrier. */
  private readonly pending: Array<{ digest: Digest; onStored: OnStored }> = [];

  constructor(
    private readonly store: Store,
    options: ObjectWriterOptions = {},
  ) {
    this.staged = options.staged ? store.stageObjects() : undefined;
    this.probes = options.probe ?? true;
  }

  /**
   * Queue a write of `data` (one buffer, or pieces written in order; verified against `expected`
   * when given); waits for room. Staged without probes (a cold store), it is written here and now
   * with synchronous calls (store/staged.ts): nothing to overlap, so no queue.
   */
  async add(
    data: Buffer | readonly Buffer[],
    onStored: OnStored,
    expected?: Digest,
  ): Promise<void> {
    this.check();
    if (this.staged && !this.probes) {
      const { digest } = this.staged.addSync(data, expected);
      this.pending.push({ digest, onStored });
      return;
    }
    const size = Buffer.isBuffer(data) ? data.length : data.reduce((n, b) => n + b.length, 0);
    while (
      this.inflight.size >= WRITE_CONCURRENCY ||
      (this.bytes > 0 && this.bytes + size > WRITE_BUDGET)
    ) {
      await Promise.race(this.inflight);
    }
    this.check();
    this.bytes += size;
    const one = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[], size);
    const p: Promise<void> = this.persist(one, onStored, expected)
      .then(() => {})
      .catch((err) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.bytes -= size;
        this.inflight.delete(p);
      });
    this.inflight.add(p);
  }

  /** Stream `source` into the store now. */
  async write(
    source: AsyncIterable<Buffer>,
    onStored: OnStored,
    expected?: Digest,
  ): Promise<Digest> {
    this.check();
    return this.persist(source, onStored, expected);
  }

  /** Waits for every write; staged, makes them all durable and visible, then runs the callbacks. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight);
    if (!this.staged) return this.check();
    if (this.failure !== undefined) {
      this.pending.length = 0;
      await this.staged.discard();
      throw this.failure;
    }
    await this.staged.commit();
    const done = this.pending.splice(0);
    let next = 0;
    const worker = async () => {
      while (next < done.length) {
        const d = done[next++]!;
        await d.onStored(d.digest);
      }
    };
    await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, done.length) }, worker));
    this.written += done.length;
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async persist(
    source: Buffer | AsyncIterable<Buffer>,
    onStored: OnStored,
    expected?: Digest,
  ): Promise<Digest> {
    // An object the store already holds (a file shared with an earlier image, or written by a
    // layer pulled alongside) is not written again: no temp file, no fsync, no rename.
    if (
      this.probes &&
      expected !== undefined &&
      Buffer.isBuffer(source) &&
      (await this.store.hasObject(expected, source.length))
    ) {
      await onStored(expected);
      this.reused++;
      return expected;
    }
    if (this.staged) {
      // Stamped and verified like writeObject; visible (and its callback run) only after drain.
      const { digest } = await this.staged.add(source, expected);
      this.pending.push({ digest, onStored });
      return digest;
    }
    const { digest } = await this.store.writeObject(source, expected);
    await onStored(digest);
    this.written++;
    return digest;
  }
}
