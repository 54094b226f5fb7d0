/**
 * The pull's knobs, resolved once from PullOptions with every default named here, and then
 * passed as one value to every stage: the request limit of the client a pull creates, the byte
 * budgets of every blob read, the verify policy.
 */
import { UsageError } from "../errors.js";
import type { PullOptions, VerifyPolicy } from "./types.js";

/** Requests in flight for the whole pull (sizes the registry client's limit). */
export const DEFAULT_CONCURRENCY = 8;
/** Layers pulled side by side, each under its own request meter. */
export const DEFAULT_LAYER_CONCURRENCY = 3;
/** Bytes of ranges per request: bounds the compressed bytes one request holds in memory. */
export const DEFAULT_BATCH_BYTES = 16 << 20;
/** Longest single range: a dropped connection costs at most this much again. */
export const DEFAULT_MAX_RANGE_BYTES = 4 << 20;
/** Ranges per request at most (batches.ts ramps up to it). */
export const DEFAULT_BATCH_RANGES = 64;
/** Requests a layer keeps in flight ahead of the one it consumes. */
export const DEFAULT_BATCHES_AHEAD = 4;
/**
 * Gaps between wanted chunks up to this many bytes are fetched through. Each separate range
 * costs a multipart part header in the answer (Go's: CRLF, 60-character boundary, Content-Type
 * and Content-Range lines, ~150 bytes) plus ~16 bytes in the Range header, so merging a gap
 * shorter than that transfers fewer bytes, and merging a longer one more (docs/pull.md).
 */
export const MERGE_GAP_BYTES = 160;
/**
 * An origin that ignores Range sends the whole blob: it becomes the layer's full download when
 * the layer needs at least this share of its bytes (or takes nothing from the store).
 */
export const FULL_PULL_SHARE = 0.5;
/**
 * A chunked layer of at least this many compressed bytes, pulled into a store that holds no
 * objects at all, is streamed whole (cold.ts): below it the range path's few requests cost less.
 */
export const COLD_STREAM_MIN_BYTES = 4 << 20;

export interface PullConfig {
  verify: VerifyPolicy;
  strict: boolean;
  concurrency: number;
  layerConcurrency: number;
  batchBytes: number;
  maxRangeBytes: number;
  batchesAhead: number;
  batchRanges: number;
  mergeGapBytes: number;
  coldStreamMinBytes: number;
}

export function resolvePullConfig(options: PullOptions): PullConfig {
  const concurrency = positive(options.concurrency, DEFAULT_CONCURRENCY, "concurrency");
  return {
    verify: options.verify ?? "diff-id",
    strict: options.strictFormat ?? false,
    concurrency,
    layerConcurrency: positive(
      options.layerConcurrency,
      DEFAULT_LAYER_CONCURRENCY,
      "layerConcurrency",
    ),
    batchBytes: positive(options.batchBytes, DEFAULT_BATCH_BYTES, "batchBytes"),
    maxRangeBytes: positive(options.maxRangeBytes, DEFAULT_MAX_RANGE_BYTES, "maxRangeBytes"),
    // More requests ahead than the client lets run at once would only queue.
    batchesAhead: Math.min(DEFAULT_BATCHES_AHEAD, concurrency),
    batchRanges: DEFAULT_BATCH_RANGES,
    mergeGapBytes: MERGE_GAP_BYTES,
    coldStreamMinBytes: COLD_STREAM_MIN_BYTES,
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}
