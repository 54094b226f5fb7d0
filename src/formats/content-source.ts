/**
 * The content seam between the formats' rebuild strategies and whoever provides the bytes. A
 * strategy (tar-split, zstd:chunked frames, eStargz members) asks for a file's content, for a
 * chunk it may skip, and reads the layer blob for everything else; it never knows whether a file
 * came from a local store or from the blob's chunks. `layer rebuild` passes `blobContent` (the
 * blob alone); the pull engine passes a store-first source that fetches what the store lacks.
 */
import { createHasher } from "../digest.js";
import { DigestMismatchError, FormatError } from "../errors.js";
import type { ChunkedLayer, ChunkRef, FileRef, RangeSource } from "./layer-index.js";
import { orderedWithin } from "./ordered-map.js";
import { groupByBytes, type ReadAheadOptions, readBatches } from "./read-ahead.js";

export interface ContentSource {
  /** The layer blob: whatever a strategy needs besides file content comes from here. */
  readonly blob: RangeSource;
  /** How the blob is read (batch budget, requests ahead, signal). */
  readonly reading: ReadAheadOptions;
  /** A regular file's content; a wrong byte fails (digest, size) before the stream ends. */
  file(file: FileRef): Promise<AsyncIterable<Buffer> | Iterable<Buffer>>;
  /** Whether `chunk` can be had without reading the blob (eStargz members may then be skipped). */
  holds(file: FileRef, chunk: ChunkRef): boolean;
  /** The bytes of a chunk `holds` said yes to (exactly chunk.size bytes). */
  heldChunk(file: FileRef, chunk: ChunkRef): Promise<Buffer>;
}

/** Uncompressed bytes decoded ahead of the consumer (decoding runs on the libuv pool). */
export const DECODE_AHEAD_BYTES = 16 << 20;
const ZERO_PIECE = Buffer.alloc(1 << 20);

export function* zeroPieces(n: number): Generator<Buffer> {
  for (let left = n; left > 0; left -= ZERO_PIECE.length) {
    yield ZERO_PIECE.subarray(0, Math.min(left, ZERO_PIECE.length));
  }
}

/**
 * One file's content from the blob: its chunks read ahead in batches, decoded ahead within a
 * budget, zero runs generated, and the whole file checked against its size and digest.
 */
export async function* fileFromBlob(
  blob: RangeSource,
  layer: Pick<ChunkedLayer, "decodeChunk">,
  file: FileRef,
  reading: ReadAheadOptions,
): AsyncGenerator<Buffer> {
  let planned = 0;
  for (const c of file.chunks) {
    if (c.fileOffset !== planned) {
      throw new FormatError(
        `${file.name}: chunk at file offset ${c.fileOffset}, expected ${planned}`,
      );
    }
    planned += c.size;
  }
  const hasher = createHasher();
  let produced = 0;
  const pieces = decodedPieces(blob, layer, file, reading);
  for await (const data of pieces) {
    hasher.update(data);
    produced += data.length;
    yield data;
  }
  if (produced !== file.size) {
    throw new FormatError(`${file.name}: chunks hold ${produced} bytes, TOC size is ${file.size}`);
  }
  const actual = hasher.digest();
  if (actual !== file.digest)
    throw new DigestMismatchError(`file ${file.name}`, file.digest, actual);
}

async function* decodedPieces(
  blob: RangeSource,
  layer: Pick<ChunkedLayer, "decodeChunk">,
  file: FileRef,
  reading: ReadAheadOptions,
): AsyncGenerator<Buffer> {
  // Runs of non-zero chunks are fetched and decoded; zero chunks are generated in between.
  let run: ChunkRef[] = [];
  const flush = async function* () {
    const ranges = run.map((c) => ({ offset: c.offset, length: c.end - c.offset, c }));
    run = [];
    const batches = groupByBytes(ranges, (r) => r.length, reading.batchBytes);
    for await (const { batch, buffers } of readBatches(blob, batches, reading)) {
      const items = batch.map((r, i) => ({ c: r.c, raw: buffers[i]! }));
      yield* orderedWithin(
        items,
        (it) => it.c.size,
        (it) => layer.decodeChunk(it.raw, it.c),
        DECODE_AHEAD_BYTES,
      );
    }
  };
  for (const c of file.chunks) {
    if (!c.zeros) {
      run.push(c);
      continue;
    }
    yield* flush();
    yield* zeroPieces(c.size);
  }
  yield* flush();
}

/** Everything from the blob itself (`layer rebuild`, tests): nothing is held locally. */
export function blobContent(
  blob: RangeSource,
  layer: Pick<ChunkedLayer, "decodeChunk">,
  reading: ReadAheadOptions,
): ContentSource {
  return {
    blob,
    reading,
    file: async (file) => fileFromBlob(blob, layer, file, reading),
    holds: () => false,
    heldChunk: async (file) => {
      throw new FormatError(`${file.name}: no chunk is held locally when reading the blob alone`);
    },
  };
}

/** The reading defaults for offline rebuilds (local files: large batches, a few ahead). */
export const OFFLINE_READING: ReadAheadOptions = { batchBytes: 8 << 20, ahead: 2 };
