/**
 * The object writer of pulls that write a whole layer's objects (full pulls, cold pulls): the
 * same interface as ObjectWriter, but objects are staged without an fsync each and made durable
 * together by one barrier in `drain` (store/staged.ts). `onStored` callbacks (chunk pointers)
 * run after that barrier, so they still only ever point at durable objects.
 */
import type { Digest } from "../digest.js";
import type { StagedObjects } from "../store/staged.js";
import type { Store } from "../store/store.js";
import type { OnStored } from "./object-writer.js";

const WRITE_CONCURRENCY = 8;
const WRITE_BUDGET = 32 << 20;

export class StagedObjectWriter {
  written = 0;
  private readonly staged: StagedObjects;
  private readonly inflight = new Set<Promise<void>>();
  private readonly done: Array<{ digest: Digest; onStored: OnStored }> = [];
  private bytes = 0;
  private failure: unknown;

  /**
   * @param probe whether to ask the store for each object first (skip it when the store cannot
   *   hold them, e.g. it has no objects at all: the probes would all fail).
   */
  constructor(
    private readonly store: Store,
    private readonly probe = true,
  ) {
    this.staged = store.stageObjects();
  }

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

  /** Stream `source` into a staged object now. */
  async write(
    source: AsyncIterable<Buffer>,
    onStored: OnStored,
    expected?: Digest,
  ): Promise<Digest> {
    this.check();
    return this.persist(source, onStored, expected);
  }

  /** Waits for every write, makes them all durable and visible, then runs the callbacks. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight);
    if (this.failure !== undefined) {
      await this.staged.discard();
      throw this.failure;
    }
    await this.staged.commit();
    const done = this.done.splice(0);
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
    const have =
      this.probe &&
      expected !== undefined &&
      Buffer.isBuffer(source) &&
      (await this.store.hasObject(expected));
    const digest = have ? expected : (await this.staged.add(source, expected)).digest;
    this.done.push({ digest, onStored });
    return digest;
  }
}
