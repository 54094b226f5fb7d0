/**
 * The pull planner: a pure function from a layer's files and what the store already holds to an
 * inspectable plan of what to take from the store, what is zeros and which byte ranges of the
 * blob to fetch (spec §5.5 classification, §5.6 range coalescing). No I/O: the caller looks up
 * `haveFile` / `haveChunk` beforehand, and every store hit is re-verified when it is read.
 */
import type { Digest } from "../digest.js";
import { FormatError } from "../errors.js";
import type { ChunkRef, FileRef } from "../formats/layer-index.js";
import { batch, type Interval, mergeIntervals } from "./plan-merge.js";

/**
 * Most ranges one layer's plan may have, merging the cheapest gaps beyond it. c/storage caps a
 * layer at 1023 because it asks for all of them in one request; the pull sends its ranges in
 * batches of at most 64 per request (batches.ts), so the cap only bounds the number of requests
 * a TOC of countless tiny chunks could cause (256 requests). At 1023, a 5% update of a 500 MB
 * layer (about 1,400 ranges) fetched 1.23x the ideal bytes through merged gaps.
 */
export const MAX_PLANNED_RANGES = 16_383;
export const DEFAULT_ALWAYS_MERGE_GAP = 1024;

export interface PlanOptions {
  /** Cap on the number of merged ranges (MAX_PLANNED_RANGES by default). */
  maxRanges?: number;
  /** Gaps up to this many bytes between fetched chunks are always fetched through. */
  alwaysMergeGap?: number;
  /** When given, every chunk must lie within [0, blobSize). */
  blobSize?: number;
}

/** Where a chunk comes from. `duplicate`: same digest as an earlier remote chunk of this layer. */
export type ChunkSource = "store" | "zeros" | "remote" | "duplicate";

/** Points at one chunk of the plan: file index and chunk index within that file. */
export interface ChunkLocation {
  fileIndex: number;
  chunkIndex: number;
}

export interface ChunkPlan {
  chunk: ChunkRef;
  source: ChunkSource;
  /** The digest used for lookups: the chunk digest, or the file digest for a whole-file chunk. */
  digest?: Digest;
  /** For `duplicate`: the remote chunk whose bytes serve this one. */
  duplicateOf?: ChunkLocation;
}

/**
 * `store`: the whole file is an object in the store. `duplicate`: an earlier file of this layer
 * has the same digest (rebuild it first, then copy). `chunks`: assembled chunk by chunk.
 */
export type FileSource = "store" | "duplicate" | "chunks";

export interface FilePlan {
  file: FileRef;
  source: FileSource;
  duplicateOf?: number;
  /** Per-chunk sources; empty unless `source` is `chunks`. */
  chunks: ChunkPlan[];
}

/** A chunk that must be fetched, with the file it belongs to. */
export interface RemoteChunk extends ChunkLocation {
  file: FileRef;
  chunk: ChunkRef;
}

/** One byte range of the blob to request; `chunks` are in blob order, all within the range. */
export interface PlannedRange {
  offset: number;
  length: number;
  chunks: RemoteChunk[];
}

export interface PlanTotals {
  files: number;
  chunks: number;
  filesFromStore: number;
  duplicateFiles: number;
  chunksFromStore: number;
  zeroChunks: number;
  remoteChunks: number;
  duplicateChunks: number;
  rangeCount: number;
  /** Σ range lengths: what the requests will transfer. */
  bytesToFetch: number;
  /** Union of the remote chunks' compressed bytes, before gap merging. */
  idealBytes: number;
  /** Union of all chunks' compressed bytes: what fetching every chunk would cost. */
  payloadBytes: number;
  /** payloadBytes - bytesToFetch. Negative only when merged gaps outweigh local hits. */
  bytesSaved: number;
}

export interface Plan {
  files: FilePlan[];
  /** Unique chunks to fetch, in blob order. */
  remoteChunks: RemoteChunk[];
  /** Sorted, non-overlapping ranges covering every remote chunk. */
  ranges: PlannedRange[];
  totals: PlanTotals;
}

/** Build the plan for one layer. Throws FormatError on chunk offsets that cannot be fetched. */
export function planLayer(
  files: readonly FileRef[],
  haveFile: ReadonlySet<Digest>,
  haveChunk: ReadonlySet<Digest>,
  options: PlanOptions = {},
): Plan {
  const filePlans: FilePlan[] = [];
  const intervals: Interval<RemoteChunk>[] = [];
  const firstFile = new Map<Digest, number>();
  const firstChunk = new Map<Digest, ChunkLocation>();
  const all: Interval<null>[] = [];
  const t = { filesFromStore: 0, duplicateFiles: 0, chunksFromStore: 0, zeroChunks: 0 };
  let chunkCount = 0;
  let duplicateChunks = 0;

  files.forEach((file, fileIndex) => {
    file.chunks.forEach((chunk, chunkIndex) => {
      checkChunk(file, chunkIndex, chunk, options.blobSize);
      chunkCount++;
      if (chunk.end > chunk.offset) all.push({ offset: chunk.offset, end: chunk.end, items: [] });
    });
    if (haveFile.has(file.digest)) {
      t.filesFromStore++;
      filePlans.push({ file, source: "store", chunks: [] });
      return;
    }
    const earlier = firstFile.get(file.digest);
    if (earlier !== undefined) {
      t.duplicateFiles++;
      filePlans.push({ file, source: "duplicate", duplicateOf: earlier, chunks: [] });
      return;
    }
    firstFile.set(file.digest, fileIndex);
    const chunks = file.chunks.map((chunk, chunkIndex): ChunkPlan => {
      if (chunk.zeros) {
        t.zeroChunks++;
        return { chunk, source: "zeros" };
      }
      const digest = lookupDigest(file, chunk);
      if (digest && haveChunk.has(digest)) {
        t.chunksFromStore++;
        return { chunk, source: "store", digest };
      }
      const seen = digest && firstChunk.get(digest);
      if (seen) {
        duplicateChunks++;
        return { chunk, source: "duplicate", digest, duplicateOf: seen };
      }
      if (digest) firstChunk.set(digest, { fileIndex, chunkIndex });
      const remote: RemoteChunk = { file, fileIndex, chunkIndex, chunk };
      intervals.push({ offset: chunk.offset, end: chunk.end, items: [remote] });
      return digest ? { chunk, source: "remote", digest } : { chunk, source: "remote" };
    });
    filePlans.push({ file, source: "chunks", chunks });
  });

  const mergeOptions = {
    maxRanges: options.maxRanges ?? MAX_PLANNED_RANGES,
    alwaysMergeGap: options.alwaysMergeGap ?? DEFAULT_ALWAYS_MERGE_GAP,
  };
  const { merged, unionBytes } = mergeIntervals(intervals, mergeOptions);
  const payloadBytes = mergeIntervals(all, {
    maxRanges: Number.MAX_SAFE_INTEGER,
    alwaysMergeGap: 0,
  }).unionBytes;
  const ranges = merged.map((iv) => ({
    offset: iv.offset,
    length: iv.end - iv.offset,
    chunks: iv.items,
  }));
  const bytesToFetch = ranges.reduce((sum, r) => sum + r.length, 0);
  return {
    files: filePlans,
    remoteChunks: ranges.flatMap((r) => r.chunks),
    ranges,
    totals: {
      files: files.length,
      chunks: chunkCount,
      ...t,
      remoteChunks: intervals.length,
      duplicateChunks,
      rangeCount: ranges.length,
      bytesToFetch,
      idealBytes: unionBytes,
      payloadBytes,
      bytesSaved: payloadBytes - bytesToFetch,
    },
  };
}

/** Batch a plan's ranges into requests of at most `maxRangesPerRequest` ranges, in blob order. */
export function splitForRequests(plan: Plan, maxRangesPerRequest: number): PlannedRange[][] {
  return batch(plan.ranges, maxRangesPerRequest);
}

/**
 * The digest a chunk is looked up by. Single-chunk zstd:chunked files carry no chunk digest:
 * the chunk is the whole file, so the file digest names its content.
 */
export function lookupDigest(file: FileRef, chunk: ChunkRef): Digest | undefined {
  if (chunk.digest) return chunk.digest;
  if (chunk.fileOffset === 0 && chunk.size === file.size) return file.digest;
  return undefined;
}

function checkChunk(file: FileRef, index: number, chunk: ChunkRef, blobSize?: number): void {
  const where = `file ${JSON.stringify(file.name)} chunk ${index}`;
  const ints = [chunk.offset, chunk.end, chunk.fileOffset, chunk.size];
  if (!ints.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new FormatError(`${where}: offsets and sizes must be non-negative integers`);
  }
  if (chunk.end < chunk.offset || (!chunk.zeros && chunk.end === chunk.offset)) {
    throw new FormatError(`${where}: empty or inverted blob range [${chunk.offset}, ${chunk.end})`);
  }
  if (chunk.fileOffset + chunk.size > file.size) {
    throw new FormatError(
      `${where}: covers file bytes [${chunk.fileOffset}, ${chunk.fileOffset + chunk.size}) past size ${file.size}`,
    );
  }
  if (blobSize !== undefined && chunk.end > blobSize) {
    throw new FormatError(`${where}: blob range ends at ${chunk.end}, past blob size ${blobSize}`);
  }
}
