/**
 * Groups planned ranges into request batches whose buffers fit a byte budget, so a layer of any
 * size is fetched with bounded memory. A range longer than `maxRange` (default: the budget) is
 * cut at chunk boundaries into consecutive pieces, so a connection reset costs at most one piece
 * again (the registry client re-requests the ranges not yet delivered, never half a range); the
 * pieces still travel in one multi-range request. A single chunk larger than either travels
 * alone.
 */
import { groupByBytes } from "../formats/read-ahead.js";
import type { PlannedRange } from "./plan.js";

export function batchRanges(
  ranges: readonly PlannedRange[],
  budget: number,
  maxRange: number = budget,
): PlannedRange[][] {
  const pieceLimit = Math.min(budget, maxRange);
  const pieces = ranges.flatMap((r) => (r.length <= pieceLimit ? [r] : splitRange(r, pieceLimit)));
  return groupByBytes(pieces, (r) => r.length, budget);
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
