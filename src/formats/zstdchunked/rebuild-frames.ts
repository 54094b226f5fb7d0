/**
 * Rebuilding a zstd:chunked layer that carries no tar-split (c/storage < v1.47, or a tar-split
 * nothing vouches for). Every regular file's payload starts a new zstd frame and the next frame
 * starts right after it, so the blob outside the files' [offset, end) spans is a run of complete
 * frames holding exactly the rest of the tar: headers, padding, end blocks. Those "skeleton"
 * frames (small: mostly headers) decompressed and interleaved with each file's content give
 * back the layer tar, which only the diff_id can then prove.
 */
import { FormatError } from "../../errors.js";
import type { ContentSource } from "../content-source.js";
import type { ByteRange, FileRef } from "../layer-index.js";
import { readAhead } from "../read-ahead.js";
import { SKIPPABLE_HEADER_SIZE, zstdDecompress } from "../zstd.js";
import type { ZstdChunkedLayer } from "./reader.js";

/** Skeleton frames may compress headers very well; bound each range's output generously. */
const MAX_SKELETON_RATIO = 64;

interface Span {
  file: FileRef;
  offset: number;
  end: number;
}

export interface Skeleton {
  spans: Span[];
  /** gaps[i] precedes spans[i]; the last gap runs to the end of the data area. */
  gaps: ByteRange[];
}

/** The skeleton of a layer: its files' payload spans in blob order and the frames around them. */
export function skeletonOf(layer: Pick<ZstdChunkedLayer, "files" | "tocPosition">): Skeleton {
  const dataEnd = layer.tocPosition.offset - SKIPPABLE_HEADER_SIZE;
  const spans: Span[] = [];
  for (const file of layer.files) {
    if (file.size === 0 || file.chunks.length === 0) continue;
    const offset = Math.min(...file.chunks.map((c) => c.offset));
    const end = Math.max(...file.chunks.map((c) => c.end));
    spans.push({ file, offset, end });
  }
  spans.sort((a, b) => a.offset - b.offset);
  const gaps: ByteRange[] = [];
  let at = 0;
  for (const s of spans) {
    if (s.offset < at || s.end > dataEnd || s.end <= s.offset) {
      throw new FormatError(
        `${s.file.name}: payload frames [${s.offset}, ${s.end}) overlap or leave the data area`,
      );
    }
    gaps.push({ offset: at, length: s.offset - at });
    at = s.end;
  }
  gaps.push({ offset: at, length: dataEnd - at });
  return { spans, gaps };
}

/** The layer tar: skeleton frames from the blob, file content from `source`. */
export async function* rebuildFromFrames(
  layer: ZstdChunkedLayer,
  source: ContentSource,
): AsyncGenerator<Buffer> {
  const { spans, gaps } = skeletonOf(layer);
  const frames = readAhead(
    source.blob,
    gaps.filter((g) => g.length > 0),
    source.reading,
  );
  try {
    for (const [i, gap] of gaps.entries()) {
      if (gap.length > 0) {
        const next = await frames.next();
        if (next.done) throw new FormatError("skeleton frames ran out");
        const limit = Math.max(1 << 20, next.value.length * MAX_SKELETON_RATIO);
        yield await zstdDecompress(next.value, limit);
      }
      const span = spans[i];
      if (span) yield* await source.file(span.file);
    }
  } finally {
    await frames.return(undefined);
  }
}
