/**
 * Range coalescing for the pull plan (spec §5.6, `mergeMissingChunks`): pure functions over
 * sorted byte intervals. Overlapping or touching intervals always become one range; gaps up to
 * `alwaysMergeGap` bytes are always merged; then the cheapest remaining gaps are merged until
 * the range count fits the cap. Unlike c/storage, the cap is met exactly (at most `maxRanges`),
 * and gap ties break by blob offset so the plan is deterministic.
 */
import { UsageError } from "../errors.js";

/** A byte interval of the blob carrying the items (chunks) that must be read from it. */
export interface Interval<T> {
  offset: number;
  /** Exclusive end. */
  end: number;
  items: T[];
}

export interface MergeOptions {
  maxRanges: number;
  alwaysMergeGap: number;
}

/**
 * Merge intervals (any order) into sorted, non-overlapping intervals. Items keep blob order.
 * Returns the merged intervals plus the union length of the input (bytes strictly needed).
 */
export function mergeIntervals<T>(
  input: readonly Interval<T>[],
  options: MergeOptions,
): { merged: Interval<T>[]; unionBytes: number } {
  const { maxRanges, alwaysMergeGap } = options;
  if (!Number.isSafeInteger(maxRanges) || maxRanges < 1) {
    throw new UsageError(`maxRanges must be an integer >= 1, got ${maxRanges}`);
  }
  if (!Number.isSafeInteger(alwaysMergeGap) || alwaysMergeGap < 0) {
    throw new UsageError(`alwaysMergeGap must be an integer >= 0, got ${alwaysMergeGap}`);
  }
  const sorted = [...input].sort((a, b) => a.offset - b.offset || a.end - b.end);

  // Pass 1: overlaps (shared eStargz members, duplicated offsets) and small gaps.
  const coalesced: Interval<T>[] = [];
  let unionBytes = 0;
  let unionEnd = -1;
  for (const iv of sorted) {
    const from = Math.max(iv.offset, unionEnd);
    if (iv.end > from) unionBytes += iv.end - from;
    unionEnd = Math.max(unionEnd, iv.end);
    const last = coalesced[coalesced.length - 1];
    if (last && iv.offset - last.end <= alwaysMergeGap) {
      last.end = Math.max(last.end, iv.end);
      last.items.push(...iv.items);
    } else {
      coalesced.push({ offset: iv.offset, end: iv.end, items: [...iv.items] });
    }
  }
  if (coalesced.length <= maxRanges) return { merged: coalesced, unionBytes };

  // Pass 2: merge the (n - maxRanges) cheapest gaps. Merging one gap never changes another
  // gap's cost, so choosing them all up front is the same as merging greedily one by one.
  const gaps = coalesced
    .slice(1)
    .map((iv, i) => ({ index: i, cost: iv.offset - coalesced[i]!.end }));
  gaps.sort((a, b) => a.cost - b.cost || a.index - b.index);
  const joinNext = new Uint8Array(coalesced.length);
  for (const g of gaps.slice(0, coalesced.length - maxRanges)) joinNext[g.index] = 1;

  const merged: Interval<T>[] = [];
  let current: Interval<T> | undefined;
  for (let i = 0; i < coalesced.length; i++) {
    const iv = coalesced[i]!;
    if (current) {
      current.end = iv.end;
      current.items.push(...iv.items);
    } else {
      current = { offset: iv.offset, end: iv.end, items: iv.items };
    }
    if (!joinNext[i]) {
      merged.push(current);
      current = undefined;
    }
  }
  return { merged, unionBytes };
}

/** Split a sorted list into consecutive batches of at most `perBatch` elements. */
export function batch<T>(list: readonly T[], perBatch: number): T[][] {
  if (!Number.isSafeInteger(perBatch) || perBatch < 1) {
    throw new UsageError(`ranges per request must be an integer >= 1, got ${perBatch}`);
  }
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += perBatch) out.push(list.slice(i, i + perBatch));
  return out;
}
