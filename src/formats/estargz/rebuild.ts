/**
 * Rebuild the uncompressed layer tar of a gzip eStargz blob: the diff_id stream is gunzip(whole
 * blob) (spec estargz.md §2.4), that is, the entries, landmark, TOC entry and end-of-archive.
 * The blob is read as member-aligned ranges in TOC order (each data member exactly as the pull
 * engine stored it) and inflated as one multi-member stream, so memory stays bounded.
 */
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { FormatError } from "../../errors.js";
import type { ByteRange, RangeSource } from "../layer-index.js";
import { zstdDecompress } from "../zstd.js";
import type { EstargzLayer } from "./reader.js";
import type { EstargzZstdLayer } from "./zstd-flavour.js";

/** Ranges per read call and bytes per read call: enough to amortise a round trip. */
const MAX_RANGES_PER_READ = 64;
const MAX_BYTES_PER_READ = 8 << 20;

/** Member-aligned pieces covering [0, size): every data offset, the TOC and the trailer start. */
export function memberRanges(
  layer: Pick<EstargzLayer, "toc" | "dataEnd">,
  size: number,
  trailerStart = size,
): ByteRange[] {
  const cuts = new Set<number>([0, layer.dataEnd, trailerStart, size]);
  for (const e of layer.toc.entries) if (e.offset !== undefined) cuts.add(e.offset);
  const sorted = [...cuts].sort((a, b) => a - b);
  const ranges: ByteRange[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const offset = sorted[i] as number;
    const end = sorted[i + 1] as number;
    if (end > offset) ranges.push({ offset, length: end - offset });
  }
  return ranges;
}

async function* readInBatches(
  src: RangeSource,
  ranges: ByteRange[],
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  let i = 0;
  while (i < ranges.length) {
    const batch: ByteRange[] = [];
    let bytes = 0;
    while (i < ranges.length && batch.length < MAX_RANGES_PER_READ) {
      const r = ranges[i] as ByteRange;
      if (batch.length > 0 && bytes + r.length > MAX_BYTES_PER_READ) break;
      batch.push(r);
      bytes += r.length;
      i++;
    }
    yield* await src.read(batch, signal);
  }
}

/** Yields the uncompressed tar in pieces; its sha256 is the layer's diff_id. */
export async function* rebuildEstargzTar(
  src: RangeSource,
  layer: EstargzLayer,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  const ranges = memberRanges(layer, src.size, src.size - layer.footer.size);
  const input = Readable.from(readInBatches(src, ranges, signal));
  input.on("error", (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    for await (const piece of gunzip) yield piece as Buffer;
  } catch (err) {
    if (err instanceof Error && "code" in err && String(err.code).startsWith("Z_")) {
      throw new FormatError(`eStargz blob does not inflate: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

/**
 * The zstd flavour's uncompressed stream: its data frames decompressed in order. The TOC and the
 * footer sit in skippable frames, which decompress to nothing, so only [0, dataEnd) is read.
 * Each member-aligned range is decompressed on its own (the zstd binding is buffer-only).
 */
export async function* rebuildEstargzZstdTar(
  src: RangeSource,
  layer: EstargzZstdLayer,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const ranges = memberRanges(layer, layer.dataEnd).filter((r) => r.offset < layer.dataEnd);
  for await (const frames of readInBatches(src, ranges, signal)) {
    // Header-only stretches (thousands of empty files) compress very well; bound, generously.
    yield await zstdDecompress(frames, (64 << 20) + frames.length * 1024);
  }
}
