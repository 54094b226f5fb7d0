/**
 * The format-neutral view of a chunked layer that the pull engine plans with. Each format reader
 * (zstd:chunked, eStargz, estargz-zstd) turns its TOC into this shape; planning, fetching and
 * rebuilding never look at format-specific TOC fields.
 */
import type { Digest } from "../digest.js";

export type ChunkedFormat = "zstd:chunked" | "estargz" | "estargz-zstd";

/** One independently decodable piece of a regular file's payload. */
export interface ChunkRef {
  /** Blob offset where the compressed chunk starts (a zstd frame or a gzip member). */
  offset: number;
  /** Blob offset just past the compressed chunk (exclusive). */
  end: number;
  /** Offset of the chunk within the uncompressed file. */
  fileOffset: number;
  /** Uncompressed length of the chunk. */
  size: number;
  /** sha256 of the uncompressed chunk; undefined for single-chunk zstd:chunked files (use the file digest). */
  digest?: Digest;
  /** A run of zero bytes: needs no fetch. */
  zeros: boolean;
  /** eStargz: bytes to skip in the decompressed member before this chunk's data. */
  innerOffset?: number;
}

/** A regular file with payload, in TOC (= tar) order. */
export interface FileRef {
  name: string;
  size: number;
  digest: Digest;
  chunks: ChunkRef[];
}

/** A half-open byte range of a blob. */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * Random access to a blob: a local file or a registry blob fetched with HTTP range requests.
 * `read` returns one buffer per requested range, in request order, each exactly `length` bytes.
 * Ranges must be sorted and non-overlapping.
 */
export interface RangeSource {
  readonly size: number;
  read(ranges: readonly ByteRange[], signal?: AbortSignal): Promise<Buffer[]>;
}

/** What every format reader produces once its TOC (and tar-split, if any) are verified. */
export interface ChunkedLayer {
  format: ChunkedFormat;
  /** The digest that authenticates the TOC (zstd:chunked: of the compressed TOC; eStargz: of the TOC JSON). */
  tocDigest: Digest;
  /** Regular files with payload, in tar order. */
  files: FileRef[];
  /** The uncompressed tar-split (JSON lines), present only when it is authenticated by the TOC. */
  tarSplit?: Buffer;
  /** Decode one chunk from exactly the compressed bytes [chunk.offset, chunk.end). Verifies chunk.digest when set. */
  decodeChunk(compressed: Buffer, chunk: ChunkRef): Promise<Buffer>;
}
