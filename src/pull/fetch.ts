/**
 * The fetch stage: requests the planned ranges in byte-bounded batches (a few in flight),
 * decodes every chunk (its digest checked by the format's decoder), and writes each missing file
 * into the store from its chunks in order: store chunks re-verified, zeros generated, remote
 * chunks decoded. The store checks the whole file against its TOC digest before it keeps it.
 */
import pLimit from "p-limit";
import type { Digest } from "../digest.js";
import { ChunkpullError, FormatError, NotInStoreError } from "../errors.js";
import type { ChunkedLayer, RangeSource } from "../formats/layer-index.js";
import { orderedWithin } from "../formats/ordered-map.js";
import type { Store } from "../store/store.js";
import { batchRanges } from "./batches.js";
import { ObjectWriter, SMALL_FILE } from "./object-writer.js";
import type { ChunkLocation, FilePlan, Plan, PlannedRange } from "./plan.js";

export interface FetchOptions {
  batchBytes: number;
  /** Longest single range; longer planned ranges are cut at chunk boundaries (batches.ts). */
  maxRangeBytes?: number;
  concurrency: number;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}

export interface FetchStats {
  /** Σ lengths of the ranges requested. */
  bytesRequested: number;
  /** Ranges requested (planned ranges after cutting long ones into pieces). */
  ranges: number;
  batches: number;
  filesWritten: number;
}

interface DecodedChunk extends ChunkLocation {
  data: Buffer;
}

const ZERO_PIECE = Buffer.alloc(1 << 20);
/** Uncompressed bytes decoded ahead of the file writer. */
const DECODE_BUDGET = 16 << 20;
const key = (l: ChunkLocation) => `${l.fileIndex}:${l.chunkIndex}`;

export async function fetchPlan(
  layer: ChunkedLayer,
  plan: Plan,
  source: RangeSource,
  store: Store,
  opts: FetchOptions,
): Promise<FetchStats> {
  const batches = batchRanges(plan.ranges, opts.batchBytes, opts.maxRangeBytes);
  const abort = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, abort.signal]) : abort.signal;
  const remote = decodedChunks(layer, batches, source, opts, signal);
  const pending = duplicateReferences(plan);
  const kept = new Map<string, Buffer>();
  const writer = new ObjectWriter(store);
  const index = (fp: FilePlan) => (digest: Digest) => store.indexFile(fp.file, digest);
  try {
    for (const [fileIndex, fp] of plan.files.entries()) {
      if (fp.source !== "chunks") continue;
      const bytes = fileBytes(fp, fileIndex, { remote, store, pending, kept });
      if (fp.file.size <= SMALL_FILE) {
        // Gathered in plan order (cheap, in memory), written in the background: per-file I/O
        // (temp file, fsync, rename, chunk pointers) overlaps with the next files.
        const parts: Buffer[] = [];
        for await (const b of bytes) parts.push(b);
        await writer.add(Buffer.concat(parts, fp.file.size), index(fp), fp.file.digest);
      } else {
        await writer.write(bytes, index(fp), fp.file.digest);
      }
    }
    const extra = await remote.next();
    if (!extra.done) throw new FormatError("fetched chunks left over after every file was written");
    await writer.drain();
  } catch (err) {
    abort.abort(err);
    await remote.return(undefined).catch(() => {});
    await writer.drain().catch(() => {});
    throw err;
  }
  const filesWritten = writer.written;
  return {
    bytesRequested: plan.ranges.reduce((n, r) => n + r.length, 0),
    ranges: batches.reduce((n, b) => n + b.length, 0),
    batches: batches.length,
    filesWritten,
  };
}

/** How many later chunks reuse each remote chunk's bytes (duplicates within the layer). */
function duplicateReferences(plan: Plan): Map<string, number> {
  const refs = new Map<string, number>();
  for (const fp of plan.files) {
    for (const cp of fp.chunks) {
      if (cp.source === "duplicate" && cp.duplicateOf) {
        const k = key(cp.duplicateOf);
        refs.set(k, (refs.get(k) ?? 0) + 1);
      }
    }
  }
  return refs;
}

interface FileSources {
  remote: AsyncGenerator<DecodedChunk>;
  store: Store;
  pending: Map<string, number>;
  kept: Map<string, Buffer>;
}

async function* fileBytes(fp: FilePlan, fileIndex: number, s: FileSources): AsyncGenerator<Buffer> {
  for (const [chunkIndex, cp] of fp.chunks.entries()) {
    const where = `${fp.file.name} chunk ${chunkIndex}`;
    switch (cp.source) {
      case "zeros":
        for (let left = cp.chunk.size; left > 0; left -= ZERO_PIECE.length) {
          yield ZERO_PIECE.subarray(0, Math.min(left, ZERO_PIECE.length));
        }
        break;
      case "store": {
        const data = cp.digest ? await s.store.findChunk(cp.digest) : undefined;
        if (!data || data.length !== cp.chunk.size) {
          throw new NotInStoreError(`${where}: the store no longer holds chunk ${cp.digest}`);
        }
        yield data;
        break;
      }
      case "remote": {
        const next = await s.remote.next();
        if (
          next.done ||
          next.value.fileIndex !== fileIndex ||
          next.value.chunkIndex !== chunkIndex
        ) {
          throw new FormatError(`${where}: fetched chunks arrived out of plan order`);
        }
        const k = key(next.value);
        if (s.pending.has(k)) s.kept.set(k, next.value.data);
        yield next.value.data;
        break;
      }
      case "duplicate": {
        const k = key(cp.duplicateOf!);
        const data = s.kept.get(k);
        if (!data) throw new FormatError(`${where}: duplicate of a chunk that was not fetched`);
        const left = (s.pending.get(k) ?? 1) - 1;
        if (left <= 0) {
          s.pending.delete(k);
          s.kept.delete(k);
        } else s.pending.set(k, left);
        yield data;
        break;
      }
    }
  }
}

/** Every remote chunk, decoded and verified, in plan (= blob) order; batches prefetched ahead. */
async function* decodedChunks(
  layer: ChunkedLayer,
  batches: PlannedRange[][],
  source: RangeSource,
  opts: FetchOptions,
  signal: AbortSignal,
): AsyncGenerator<DecodedChunk> {
  const limit = pLimit(Math.max(1, opts.concurrency));
  const started: Promise<Buffer[]>[] = [];
  const startUpTo = (n: number) => {
    while (started.length < Math.min(n, batches.length)) {
      const batch = batches[started.length]!;
      const p = limit(async () => {
        const bufs = await source.read(
          batch.map((r) => ({ offset: r.offset, length: r.length })),
          signal,
        );
        opts.onBytes?.(batch.reduce((n, r) => n + r.length, 0));
        return bufs;
      });
      p.catch(() => {}); // observed when awaited below; avoid unhandled rejections meanwhile
      started.push(p);
    }
  };
  for (let i = 0; i < batches.length; i++) {
    startUpTo(i + 1 + opts.concurrency);
    const bufs = await started[i]!;
    const batch = batches[i]!;
    // Decode ahead within a budget of uncompressed bytes (native decoding runs on the libuv
    // pool), yielding in order: memory stays bounded however well the data compressed.
    const items = batch.flatMap((range, r) =>
      range.chunks.map((rc) => ({ range, rc, buf: bufs[r]! })),
    );
    yield* orderedWithin(
      items,
      (it) => it.rc.chunk.size,
      (it) => decodeOne(layer, it.buf, it.range, it.rc),
      DECODE_BUDGET,
    );
    started[i] = Promise.resolve([]); // release the compressed buffers
  }
}

/** Decode one chunk out of its range buffer; errors name the file. */
async function decodeOne(
  layer: ChunkedLayer,
  buf: Buffer,
  range: PlannedRange,
  rc: PlannedRange["chunks"][number],
): Promise<DecodedChunk> {
  const from = rc.chunk.offset - range.offset;
  const to = rc.chunk.end - range.offset;
  if (from < 0 || to > buf.length) {
    throw new FormatError(`chunk [${rc.chunk.offset}, ${rc.chunk.end}) outside its range`);
  }
  try {
    const data = await layer.decodeChunk(buf.subarray(from, to), rc.chunk);
    return { fileIndex: rc.fileIndex, chunkIndex: rc.chunkIndex, data };
  } catch (err) {
    // Name the file: "chunk [a, b)" alone does not tell a user what was damaged.
    if (err instanceof ChunkpullError) {
      err.message = `${JSON.stringify(rc.file.name)} chunk ${rc.chunkIndex}: ${err.message}`;
    }
    throw err;
  }
}
