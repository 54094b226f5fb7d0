/**
 * eStargz under verify "diff-id": eStargz has no tar-split, but its blob is a sequence of
 * compression members whose decompressed concatenation IS the layer tar. A file's chunks other
 * than its last one are members holding nothing but file content; every other member (headers,
 * a file's last chunk with its padding and the next headers, landmarks, the TOC) must come from
 * the registry. So the members of non-last chunks the store already holds are skipped, the rest
 * is fetched in member-aligned ranges and decompressed, store content is spliced in where a
 * member was skipped, and the whole stream is proven by the diff_id (then indexed like a full
 * pull). Worth it for layers with large files; c/storage pulls eStargz in full.
 */

import { FormatError } from "../errors.js";
import type { EstargzLayer } from "../formats/estargz/reader.js";
import type { EstargzZstdLayer } from "../formats/estargz/zstd-flavour.js";
import { gunzipStream } from "../formats/gzip-stream.js";
import type { ByteRange, ChunkRef, FileRef, RangeSource } from "../formats/layer-index.js";
import { zstdDecompressStream } from "../formats/zstd-stream.js";
import type { Store } from "../store/store.js";
import type { StoreHits } from "./lookup.js";

/** Skipping must save at least this share of the blob, else a plain full pull is simpler. */
export const MIN_SKIP_SHARE = 0.05;
const BATCH_BYTES = 16 << 20;
const PIECE_BYTES = 4 << 20;

interface Skip {
  file: FileRef;
  chunk: ChunkRef;
}

type Piece = { kind: "fetch"; range: ByteRange } | { kind: "store"; skip: Skip };

export interface MemberPlan {
  pieces: Piece[];
  skippedBytes: number;
  skippedChunks: number;
  /** Files some of whose chunks come from the store. */
  filesTouched: number;
}

/** Which members to skip (non-last chunks the store holds) and the ranges to fetch around them. */
export function planMembers(
  layer: EstargzLayer | EstargzZstdLayer,
  blobSize: number,
  hits: StoreHits,
): MemberPlan {
  const skips: Skip[] = [];
  const touched = new Set<FileRef>();
  for (const file of layer.files) {
    const whole = hits.haveFile.has(file.digest);
    file.chunks.slice(0, -1).forEach((chunk) => {
      if (chunk.innerOffset || chunk.end <= chunk.offset) return; // shares its member: fetch it
      if (whole || (chunk.digest !== undefined && hits.haveChunk.has(chunk.digest))) {
        skips.push({ file, chunk });
        touched.add(file);
      }
    });
  }
  skips.sort((a, b) => a.chunk.offset - b.chunk.offset);
  const pieces: Piece[] = [];
  let at = 0;
  let skippedBytes = 0;
  for (const skip of skips) {
    if (skip.chunk.offset < at) throw new FormatError("eStargz chunks overlap");
    if (skip.chunk.offset > at)
      pieces.push({ kind: "fetch", range: { offset: at, length: skip.chunk.offset - at } });
    pieces.push({ kind: "store", skip });
    skippedBytes += skip.chunk.end - skip.chunk.offset;
    at = skip.chunk.end;
  }
  if (at < blobSize) pieces.push({ kind: "fetch", range: { offset: at, length: blobSize - at } });
  return { pieces, skippedBytes, skippedChunks: skips.length, filesTouched: touched.size };
}

/** The layer's uncompressed stream: fetched members decompressed, skipped ones from the store. */
export async function* memberStream(
  layer: EstargzLayer | EstargzZstdLayer,
  plan: MemberPlan,
  source: RangeSource,
  store: Store,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  // Long fetched ranges travel in pieces (bounded memory); each range is one decompression
  // stream fed with its pieces in order.
  const split = plan.pieces.map((p) => (p.kind === "fetch" ? pieceRanges(p.range) : []));
  const fetched = prefetch(split.flat(), source, signal);
  async function* rangeBytes(count: number): AsyncGenerator<Buffer> {
    for (let i = 0; i < count; i++) {
      const next = await fetched.next();
      if (next.done) throw new FormatError("internal: fetched ranges ran out");
      yield next.value;
    }
  }
  for (const [i, piece] of plan.pieces.entries()) {
    if (piece.kind === "store") yield await storedChunk(piece.skip, store);
    else yield* decompressMembers(layer.format, rangeBytes(split[i]!.length));
  }
}

function pieceRanges(r: ByteRange): ByteRange[] {
  const out: ByteRange[] = [];
  for (let at = r.offset; at < r.offset + r.length; at += PIECE_BYTES) {
    out.push({ offset: at, length: Math.min(PIECE_BYTES, r.offset + r.length - at) });
  }
  return out;
}

async function storedChunk({ file, chunk }: Skip, store: Store): Promise<Buffer> {
  const data = chunk.digest !== undefined ? await store.findChunk(chunk.digest) : undefined;
  if (data && data.length === chunk.size) return data;
  // The whole file is in the store: its bytes are checked again by the diff_id.
  return store.readRange(file.digest, chunk.fileOffset, chunk.size);
}

/** Member-aligned bytes decompressed as one multi-member stream. */
function decompressMembers(
  format: string,
  compressed: AsyncIterable<Buffer>,
): AsyncIterable<Buffer> {
  if (format === "estargz-zstd") return zstdDecompressStream(compressed);
  // zlib's raw errors become EFORMAT naming the members (formats/gzip-stream.ts).
  return gunzipStream(compressed, "eStargz members");
}

/** Ranges in order, fetched in byte-bounded batches with the next batch on its way. */
async function* prefetch(
  ranges: ByteRange[],
  source: RangeSource,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const batches: ByteRange[][] = [];
  let current: ByteRange[] = [];
  let bytes = 0;
  for (const r of ranges) {
    if (current.length > 0 && bytes + r.length > BATCH_BYTES) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += r.length;
  }
  if (current.length > 0) batches.push(current);
  let pending = batches.length > 0 ? source.read(batches[0]!, signal) : undefined;
  for (let i = 0; i < batches.length; i++) {
    const bufs = await pending!;
    pending = i + 1 < batches.length ? source.read(batches[i + 1]!, signal) : undefined;
    pending?.catch(() => {});
    yield* bufs;
  }
}
