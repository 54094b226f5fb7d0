/**
 * Writes file objects into the store for both pull paths: small files concurrently in the
 * background (bounded in count and bytes), so per-file I/O (temp file, fsync, rename, chunk
 * pointers) overlaps with the next files; large files streamed in line. The first failure is
 * rethrown by `add`, `write` or `drain`.
 */
import type { Digest } from "../digest.js";
import type { Store } from "../store/store.js";

/** Files up to this size are assembled in memory and written in the background. */
export const SMALL_FILE = 1 << 20;
const WRITE_CONCURRENCY = 8;
const WRITE_BUDGET = 32 << 20;

/** Called once the object is durable in the store, with its digest (index its chunks here). */
export type OnStored = (digest: Digest) => Promise<unknown> | unknown;

export class ObjectWriter {
  written = 0;
  private readonly inflight = new Set<Promise<void>>();
  private bytes = 0;
  private failure: unknown;

  constructor(private readonly store: Store) {}

  /** Queue a write of `data` (verified against `expected` when given); waits for room. */
  async add(data: Buffer, onStored: OnStored, expected?: Digest): Promise<void> {
    while (
      this.inflight.size >= WRITE_CONCURRENCY ||
      (this.bytes > 0 && this.bytes + data.length > WRITE_BUDGET)
    ) {
      await Promise.race(this.inflight);
    }
    this.check();
    this.bytes += data.length;
    const p: Promise<void> = this.persist(data, onStored, expected)
      .then(() => {})
      .catch((err) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.bytes -= data.length;
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

  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight);
    this.check();
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
    const digest =
      expected !== undefined &&
      Buffer.isBuffer(source) &&
      (await this.store.hasObject(expected, source.length))
        ? expected
        : (await this.store.writeObject(source, expected)).digest;
    await onStored(digest);
    this.written++;
    return digest;
  }
}
