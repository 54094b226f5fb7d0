/**
 * The eStargz rebuild strategy. eStargz has no tar-split, but its blob is a sequence of
 * compression members whose decompressed concatenation IS the layer tar (gunzip of the whole
 * blob for gzip, the data frames for the zstd flavour). A file's chunks other than its last one
 * are members holding nothing but file content; every other member (headers, a file's last
 * chunk with its padding and the next headers, landmarks, the TOC) must come from the blob. So
 * the members of non-last chunks the ContentSource holds are skipped, the rest is read in
 * member-aligned ranges and decompressed as one stream, and held content is spliced in where a
 * member was skipped. Only the diff_id can prove the result.
 */
import { FormatError } from "../../errors.js";
import { blobContent, type ContentSource, OFFLINE_READING } from "../content-source.js";
import { gunzipStream } from "../gzip-stream.js";
import type { ByteRange, ChunkRef, FileRef, RangeSource } from "../layer-index.js";
import { readAhead } from "../read-ahead.js";
import { zstdDecompressStream } from "../zstd-stream.js";
import type { EstargzLayer } from "./reader.js";
import type { EstargzZstdLayer } from "./zstd-flavour.js";

/** Longest blob range read in one piece (a member run is cut so memory stays bounded). */
const PIECE_BYTES = 4 << 20;

interface Skip {
  file: FileRef;
  chunk: ChunkRef;
}

type Piece = { kind: "read"; range: ByteRange } | { kind: "held"; skip: Skip };

export interface MemberPlan {
  pieces: Piece[];
  skippedBytes: number;
  skippedChunks: number;
  /** Files some of whose chunks are held. */
  filesTouched: number;
}

/** Which members to skip (non-last chunks `source` holds) and the ranges to read around them. */
export function planMembers(
  layer: EstargzLayer | EstargzZstdLayer,
  blobSize: number,
  holds: ContentSource["holds"],
): MemberPlan {
  const skips: Skip[] = [];
  const touched = new Set<FileRef>();
  for (const file of layer.files) {
    for (const chunk of file.chunks.slice(0, -1)) {
      if (chunk.innerOffset || chunk.end <= chunk.offset) continue; // shares its member
      if (holds(file, chunk)) {
        skips.push({ file, chunk });
        touched.add(file);
      }
    }
  }
  skips.sort((a, b) => a.chunk.offset - b.chunk.offset);
  const pieces: Piece[] = [];
  let at = 0;
  let skippedBytes = 0;
  for (const skip of skips) {
    if (skip.chunk.offset < at) throw new FormatError("eStargz chunks overlap");
    if (skip.chunk.offset > at)
      pieces.push({ kind: "read", range: { offset: at, length: skip.chunk.offset - at } });
    pieces.push({ kind: "held", skip });
    skippedBytes += skip.chunk.end - skip.chunk.offset;
    at = skip.chunk.end;
  }
  if (at < blobSize) pieces.push({ kind: "read", range: { offset: at, length: blobSize - at } });
  return { pieces, skippedBytes, skippedChunks: skips.length, filesTouched: touched.size };
}

/** The layer tar: read members decompressed, held chunks spliced in (plan from planMembers). */
export async function* rebuildFromMembers(
  layer: EstargzLayer | EstargzZstdLayer,
  source: ContentSource,
  plan: MemberPlan = planMembers(layer, source.blob.size, source.holds),
): AsyncGenerator<Buffer> {
  // Long ranges travel in pieces; each range is one decompression stream fed its pieces in order.
  const split = plan.pieces.map((p) => (p.kind === "read" ? pieceRanges(p.range) : []));
  const read = readAhead(source.blob, split.flat(), source.reading);
  async function* rangeBytes(count: number): AsyncGenerator<Buffer> {
    for (let i = 0; i < count; i++) {
      const next = await read.next();
      if (next.done) throw new FormatError("eStargz member ranges ran out");
      yield next.value;
    }
  }
  try {
    for (const [i, piece] of plan.pieces.entries()) {
      if (piece.kind === "held") {
        const data = await source.heldChunk(piece.skip.file, piece.skip.chunk);
        if (data.length !== piece.skip.chunk.size) {
          throw new FormatError(`${piece.skip.file.name}: held chunk has the wrong size`);
        }
        yield data;
      } else yield* decompressMembers(layer.format, rangeBytes(split[i]!.length));
    }
  } finally {
    await read.return(undefined);
  }
}

function pieceRanges(r: ByteRange): ByteRange[] {
  const out: ByteRange[] = [];
  for (let at = r.offset; at < r.offset + r.length; at += PIECE_BYTES) {
    out.push({ offset: at, length: Math.min(PIECE_BYTES, r.offset + r.length - at) });
  }
  return out;
}

/** Member-aligned bytes decompressed as one multi-member stream; damage is a FormatError. */
async function* decompressMembers(
  format: EstargzLayer["format"] | EstargzZstdLayer["format"],
  compressed: AsyncIterable<Buffer>,
): AsyncGenerator<Buffer> {
  if (format === "estargz-zstd") {
    yield* zstdDecompressStream(compressed);
    return;
  }
  // zlib's raw errors become EFORMAT naming the members (formats/gzip-stream.ts).
  yield* gunzipStream(compressed, "eStargz members");
}

/** The uncompressed tar of a gzip eStargz blob (its sha256 is the diff_id), from the blob alone. */
export function rebuildEstargzTar(
  src: RangeSource,
  layer: EstargzLayer,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  return rebuildFromMembers(layer, blobContent(src, layer, { ...OFFLINE_READING, signal }));
}

/** The zstd flavour's uncompressed stream (skippable TOC and footer frames add nothing). */
export function rebuildEstargzZstdTar(
  src: RangeSource,
  layer: EstargzZstdLayer,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  return rebuildFromMembers(layer, blobContent(src, layer, { ...OFFLINE_READING, signal }));
}
