/**
 * The one batching and read-ahead of blob ranges: ranges are grouped into requests whose
 * buffers fit a byte budget, several requests travel at once, and the answers are consumed in
 * order. Every rebuild strategy and the pull's chunk fetch read the blob through here, so memory
 * stays bounded by `batchBytes * (ahead + 1)` whatever the layer's size.
 */
import type { ByteRange, RangeSource } from "./layer-index.js";

export interface ReadAheadOptions {
  /** Bytes of ranges per request (one range larger than this travels alone). */
  batchBytes: number;
  /** Requests in flight beyond the one being consumed. */
  ahead: number;
  signal?: AbortSignal;
}

/** Consecutive groups of `items` whose sizes sum to at most `budget` (a larger item alone). */
export function groupByBytes<T>(
  items: readonly T[],
  size: (item: T) => number,
  budget: number,
): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && bytes + n > budget) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Each batch's buffers (one per range, in order), batches in order, `ahead` requests in flight.
 * Stopping early (return/throw in the consumer) leaves no request unobserved.
 */
export async function* readBatches<R extends ByteRange>(
  source: RangeSource,
  batches: readonly (readonly R[])[],
  opts: Pick<ReadAheadOptions, "ahead" | "signal">,
): AsyncGenerator<{ batch: readonly R[]; buffers: Buffer[] }> {
  const started: Array<Promise<Buffer[]>> = [];
  const startUpTo = (n: number) => {
    while (started.length < Math.min(n, batches.length)) {
      const batch = batches[started.length]!;
      const p = source.read(
        batch.map((r) => ({ offset: r.offset, length: r.length })),
        opts.signal,
      );
      p.catch(() => {}); // observed when awaited below; avoid unhandled rejections meanwhile
      started.push(p);
    }
  };
  for (let i = 0; i < batches.length; i++) {
    startUpTo(i + 1 + Math.max(0, opts.ahead));
    const buffers = await started[i]!;
    started[i] = Promise.resolve([]); // release the buffers once consumed
    yield { batch: batches[i]!, buffers };
  }
}

/** The ranges' bytes, one buffer per range, in order (batched and read ahead). */
export async function* readAhead(
  source: RangeSource,
  ranges: readonly ByteRange[],
  opts: ReadAheadOptions,
): AsyncGenerator<Buffer> {
  const batches = groupByBytes(ranges, (r) => r.length, opts.batchBytes);
  for await (const { buffers } of readBatches(source, batches, opts)) yield* buffers;
}
