/** Values the store hands in and out. */
import type { Digest } from "../digest.js";
import type { ChunkedFormat } from "../formats/layer-index.js";

/** Where a chunk with a given digest lives: `length` bytes at `offset` of a stored object. */
export interface ChunkPointer {
  object: Digest;
  offset: number;
  length: number;
}

/**
 * How the layer's content was authenticated when it was stored:
 * `diff_id`: the rebuilt tar hashed to the diff_id from the image config;
 * `toc`: only the TOC digest (and per-file digests) vouched for it.
 */
export type VerifyPolicy = "diff_id" | "toc";

/** What the caller supplies to putLayer. */
export interface LayerRecordInput {
  /** sha256 of the uncompressed layer tar: the key of the layer. */
  diffId: Digest;
  /** Digest of the compressed blob it was pulled from. */
  compressedDigest: Digest;
  mediaType: string;
  /** "zstd:chunked" | "estargz" | "estargz-zstd", or "tar" etc. for a layer stored from a full pull. */
  format: ChunkedFormat | string;
  tocDigest?: Digest;
  verified: VerifyPolicy;
  /** Digests of every file object the layer's rebuild needs (duplicates allowed). */
  objects: Digest[];
  uncompressedSize: number;
}

/** A stored layer record (`layers/sha256/<hh>/<rest>/record.json`). */
export interface LayerRecord extends LayerRecordInput {
  version: 1;
  /** ISO 8601 time the record was written. */
  created: string;
  /** sha256 and size of the stored `files.json` and `tar-split.json`, to detect damage or races. */
  files: { digest: Digest; size: number };
  tarSplit: { digest: Digest; size: number };
}

/** A layer present in the store: its record and where its metadata files are. */
export interface StoredLayer {
  record: LayerRecord;
  dir: string;
  /** The files index (see files-index.ts). */
  filesPath: string;
  /** @deprecated the files index was once stored as `toc.json`: use `filesPath`. */
  tocPath: string;
  tarSplitPath: string;
}

export interface GcResult {
  removedObjects: number;
  removedChunks: number;
  removedTempFiles: number;
  /** Layer directories without a record (a putLayer that crashed before its record). */
  removedLayerDirs: number;
  /** Layers whose record was damaged (named by diff_id): removed like unfinished ones. */
  damagedLayers: string[];
  freedBytes: number;
}

export interface StoreStats {
  objects: number;
  objectBytes: number;
  chunkPointers: number;
  layers: number;
  tempFiles: number;
  activePulls: number;
  /** Allocated disk space of everything under the store root (st_blocks x 512). */
  diskBytes: number;
}
