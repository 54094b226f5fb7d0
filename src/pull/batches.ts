/**
 * Groups planned ranges into request batches whose buffers fit a byte budget, so a layer of any
 * size is fetched with bounded memory. A range longer than `maxRange` (default: the budget) is
 * cut at chunk boundaries into consecutive pieces, so a connection reset costs at most one piece
 * again (the registry client re-requests the ranges not yet delivered, never half a range); the
 * pieces still travel in one multi-range request. A single chunk larger than either travels
 * alone.
 *
 * Batches are also capped in ranges, ramping up: a registry serves a multi-range request one
 * range after the other (Debian's docker-registry takes about 1 ms per range), and a batch's
 * chunks are decoded only once all of it has arrived. So the first requests are small (the
 * rebuild starts on the first answer while the later ones are still being served, several at
 * once), then up to `maxCount` ranges each.
 */
import { groupByBytes } from "../formats/read-ahead.js";
import type { PlannedRange } from "./plan.js";

/** Ranges in the first request; each next one may hold twice as many, up to the cap. */
export const FIRST_BATCH_RANGES = 8;

export function batchRanges(
  ranges: readonly PlannedRange[],
  budget: number,
  maxRange: number = budget,
  maxCount = Number.POSITIVE_INFINITY,
): PlannedRange[][] {
  const pieceLimit = Math.min(budget, maxRange);
  const pieces = ranges.flatMap((r) => (r.length <= pieceLimit ? [r] : splitRange(r, pieceLimit)));
  const batches: PlannedRange[][] = [];
  for (const group of groupByBytes(pieces, (r) => r.length, budget)) {
    for (let at = 0; at < group.length; ) {
      const n = batches.length < 16 ? FIRST_BATCH_RANGES * 2 ** batches.length : maxCount;
      const take = Math.max(1, Math.min(n, maxCount));
      batches.push(group.slice(at, at + take));
      at += take;
    }
  }
  return batches;
}

/** Cuts a range at chunk starts into pieces of at most `budget` bytes where chunks allow. */
function splitRange(r: PlannedRange, budget: number): PlannedRange[] {
  const pieces: PlannedRange[] = [];
  let start = r.offset;
  let chunks: PlannedRange["chunks"] = [];
  for (const rc of r.chunks) {
    if (chunks.length > 0 && rc.chunk.end - start > budget) {
      pieces.push({ offset: start, length: rc.chunk.offset - start, chunks });
      start = rc.chunk.offset;
      chunks = [];
    }
    chunks.push(rc);
  }
  pieces.push({ offset: start, length: r.offset + r.length - start, chunks });
  return pieces;
}
