/**
 * Rebuilding a zstd:chunked layer that carries no tar-split (c/storage < v1.47, or a tar-split
 * nothing vouches for). In zstd:chunked every regular file's payload starts a new zstd frame and
 * the next frame starts right after it, so the blob outside the files' [offset, endOffset)
 * ranges is a run of complete frames holding exactly the rest of the tar: headers, padding, end
 * blocks. Fetching those "skeleton" frames (small: mostly headers) and interleaving their
 * decompressed bytes with the files from the store gives back the layer tar, which the diff_id
 * then proves. On the way a tar-split is built, so the stored layer can be exported later.
 */
import type { Digest } from "../digest.js";
import { ChunkpullError, DigestMismatchError, FormatError } from "../errors.js";
import type { ByteRange, FileRef, RangeSource } from "../formats/layer-index.js";
import { PaddedTarHash } from "../formats/tar/padding.js";
import { readTar } from "../formats/tar/reader.js";
import { TarSplitBuilder } from "../formats/tarsplit/builder.js";
import { zstdDecompress } from "../formats/zstd.js";
import type { Store } from "../store/store.js";

/** Skeleton frames may compress headers very well; bound each range's output generously. */
const MAX_SKELETON_RATIO = 64;

interface Span {
  file: FileRef;
  offset: number;
  end: number;
}

/** Files with payload in blob order, each with the blob range its frames occupy. */
function payloadSpans(files: readonly FileRef[], dataEnd: number): Span[] {
  const spans: Span[] = [];
  for (const file of files) {
    if (file.size === 0 || file.chunks.length === 0) continue;
    const offset = Math.min(...file.chunks.map((c) => c.offset));
    const end = Math.max(...file.chunks.map((c) => c.end));
    spans.push({ file, offset, end });
  }
  spans.sort((a, b) => a.offset - b.offset);
  let at = 0;
  for (const s of spans) {
    if (s.offset < at || s.end > dataEnd || s.end <= s.offset) {
      throw new FormatError(
        `${s.file.name}: payload frames [${s.offset}, ${s.end}) overlap or leave the data area`,
      );
    }
    at = s.end;
  }
  return spans;
}

export interface Skeleton {
  spans: Span[];
  /** gaps[i] precedes spans[i]; the last gap runs to the end of the data area. */
  gaps: ByteRange[];
}

/** The skeleton of a layer whose frames end at `dataEnd` (where the TOC's skippable frame starts). */
export function skeletonOf(files: readonly FileRef[], dataEnd: number): Skeleton {
  const spans = payloadSpans(files, dataEnd);
  const gaps: ByteRange[] = [];
  let at = 0;
  for (const s of spans) {
    gaps.push({ offset: at, length: s.offset - at });
    at = s.end;
  }
  gaps.push({ offset: at, length: dataEnd - at });
  return { spans, gaps };
}

export interface SkeletonRebuild {
  diffId: Digest;
  size: number;
  /** A tar-split of the rebuilt tar, or undefined when the tar cannot have one (duplicates...). */
  tarSplit?: Buffer;
  /** Zero bytes appended to prove the diff_id (a writer that cut the tar's end; padding.ts). */
  trailingPadding?: number;
}

/** Fetch the skeleton, rebuild the tar with the store's files, check it against `expected`. */
export async function rebuildFromSkeleton(
  skeleton: Skeleton,
  source: RangeSource,
  store: Store,
  expected: Digest,
  subject: string,
  signal?: AbortSignal,
): Promise<SkeletonRebuild> {
  const wanted = skeleton.gaps.filter((g) => g.length > 0);
  const fetched = wanted.length > 0 ? await source.read(wanted, signal) : [];
  const byOffset = new Map(wanted.map((g, i) => [g.offset, fetched[i]!]));
  async function* tar(): AsyncGenerator<Buffer> {
    for (const [i, gap] of skeleton.gaps.entries()) {
      const frames = byOffset.get(gap.offset);
      if (gap.length > 0 && frames) {
        yield await zstdDecompress(frames, Math.max(1 << 20, frames.length * MAX_SKELETON_RATIO));
      }
      const span = skeleton.spans[i];
      if (span) yield* (await store.openObject(span.file.digest)) as AsyncIterable<Buffer>;
    }
  }
  const hasher = new PaddedTarHash();
  for await (const piece of tar()) hasher.update(piece);
  const actual = hasher.digest();
  const padding = actual === expected ? 0 : hasher.paddingFor(expected);
  if (padding === undefined)
    throw new DigestMismatchError(`rebuilt tar of ${subject}`, expected, actual);
  async function* padded(): AsyncGenerator<Buffer> {
    yield* tar();
    if (padding) yield Buffer.alloc(padding);
  }
  // Only a proven tar is described, in a second pass (the skeleton is in memory, the files in
  // the page cache): a tar our reader cannot describe still counts as pulled, without tar-split.
  return {
    diffId: expected,
    size: hasher.length + (padding ?? 0),
    tarSplit: await describe(padded()),
    ...(padding ? { trailingPadding: padding } : {}),
  };
}

async function describe(tar: AsyncIterable<Buffer>): Promise<Buffer | undefined> {
  const builder = new TarSplitBuilder();
  const lines: string[] = [];
  try {
    for await (const ev of readTar(tar)) lines.push(builder.push(ev));
    lines.push(builder.finish());
  } catch (err) {
    if (err instanceof ChunkpullError) return undefined;
    throw err;
  }
  return Buffer.from(lines.join(""));
}
