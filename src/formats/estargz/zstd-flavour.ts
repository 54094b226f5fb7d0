/**
 * stargz-snapshotter's "zstdchunked" (spec estargz.md §4.1): the eStargz writer with zstd frames
 * as members, the eStargz TOC JSON zstd-compressed in a skippable frame, and the 40-byte footer
 * with magic `GnUlInUx` that containers/storage's first zstd:chunked (c/storage <= 1.46) used too.
 *
 * The footer alone cannot tell the two apart (spec §4.3): the distinguishing facts are
 *  - the `containerd.io/snapshot/stargz/toc.digest` annotation (sha256 of the *uncompressed* TOC
 *    JSON), which only stargz-snapshotter writes; c/storage v1 layers carry only the
 *    `io.containers.zstd-chunked.*` keys (sha256 of the *compressed* TOC);
 *  - the TOC schema: an eStargz JTOC, never c/storage's minimal TOC (`endOffset`, `accesstime`,
 *    `changetime`, `chunkType`, `tarSplitDigest` are c/storage-only keys);
 *  - landmarks: stargz-snapshotter's Build always adds `.no.prefetch.landmark` or
 *    `.prefetch.landmark` (even for an empty layer); c/storage never does. Required only when no
 *    toc.digest annotation vouches for the TOC (an empty c/storage v1 TOC has no other tell).
 * Both are checked here, so a c/storage blob is refused instead of being misread.
 */
import { parseDigest, verifyBytes } from "../../digest.js";
import { FormatError, LimitExceededError } from "../../errors.js";
import type { ChunkedLayer, RangeSource } from "../layer-index.js";
import { SKIPPABLE_HEADER_SIZE, SKIPPABLE_MAGIC, zstdDecompress } from "../zstd.js";
import { tocFiles } from "./files.js";
import {
  chunkDecoder,
  DEFAULT_MAX_TOC_SIZE,
  type EstargzTocInfo,
  type OpenEstargzOptions,
  TOC_DIGEST_ANNOTATION,
  verifyAndParseToc,
} from "./reader.js";
import { NO_PREFETCH_LANDMARK, normalizeTocName, PREFETCH_LANDMARK } from "./toc.js";

export const ZSTD_FLAVOUR_FOOTER_SIZE = 40;
/** Footer plus the skippable-frame header in front of it. */
export const ZSTD_FLAVOUR_TAIL_SIZE = ZSTD_FLAVOUR_FOOTER_SIZE + SKIPPABLE_HEADER_SIZE;
/** `GnUlInUx` (second byte 0x6e): the 40-byte footer's magic; c/storage v1.50+ uses `GNUlInUx`. */
export const GNULINUX_V1_MAGIC = Buffer.from("GnUlInUx", "latin1");
export const LEGACY_ZSTD_CHECKSUM_ANNOTATION = "io.containers.zstd-chunked.manifest-checksum";
export const LEGACY_ZSTD_POSITION_ANNOTATION = "io.containers.zstd-chunked.manifest-position";
/** Keys that exist only in containers/storage's minimal TOC, never in an eStargz JTOC. */
const CSTORAGE_TOC_KEYS = ["endOffset", "accesstime", "changetime", "chunkType", "tarSplitDigest"];

export interface EstargzZstdFooter {
  /** Blob offset of the compressed TOC (skippable payload, after its 8-byte header). */
  tocOffset: number;
  tocCompressedSize: number;
  tocSize: number;
}

export interface EstargzZstdLayer extends ChunkedLayer, EstargzTocInfo {
  format: "estargz-zstd";
  footer: EstargzZstdFooter;
}

/**
 * Parse the 48-byte tail (skippable header + 40-byte footer). Stricter than upstream, which only
 * checks the magic: we also require manifest type 1 and a TOC frame ending at the footer frame.
 */
export function parseEstargzZstdFooter(tail: Buffer, blobSize: number): EstargzZstdFooter {
  if (tail.length < ZSTD_FLAVOUR_TAIL_SIZE || blobSize < ZSTD_FLAVOUR_TAIL_SIZE) {
    throw new FormatError(`estargz-zstd: blob tail shorter than ${ZSTD_FLAVOUR_TAIL_SIZE} bytes`);
  }
  const t = tail.subarray(tail.length - ZSTD_FLAVOUR_TAIL_SIZE);
  if (t.readUInt32LE(0) !== SKIPPABLE_MAGIC || t.readUInt32LE(4) !== ZSTD_FLAVOUR_FOOTER_SIZE) {
    throw new FormatError("estargz-zstd: footer is not in a 40-byte skippable frame");
  }
  const f = t.subarray(SKIPPABLE_HEADER_SIZE);
  if (!f.subarray(32, 40).equals(GNULINUX_V1_MAGIC)) {
    throw new FormatError("estargz-zstd: invalid footer magic (want GnUlInUx)");
  }
  const u64 = (at: number, what: string): number => {
    const v = f.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`estargz-zstd: ${what} ${v}`);
    return Number(v);
  };
  const footer: EstargzZstdFooter = {
    tocOffset: u64(0, "TOC offset"),
    tocCompressedSize: u64(8, "TOC length"),
    tocSize: u64(16, "TOC uncompressed length"),
  };
  const type = u64(24, "manifest type");
  if (type !== 1) throw new FormatError(`estargz-zstd: manifest type ${type}, want 1`);
  const trailerStart = blobSize - ZSTD_FLAVOUR_TAIL_SIZE;
  if (
    footer.tocOffset < SKIPPABLE_HEADER_SIZE ||
    footer.tocOffset + footer.tocCompressedSize !== trailerStart
  ) {
    throw new FormatError(
      `estargz-zstd: TOC [${footer.tocOffset}, +${footer.tocCompressedSize}) does not end at the footer frame (${trailerStart})`,
    );
  }
  return footer;
}

export async function openEstargzZstd(
  src: RangeSource,
  opts: OpenEstargzOptions = {},
): Promise<EstargzZstdLayer> {
  const a = opts.annotations;
  if (
    a &&
    !Object.hasOwn(a, TOC_DIGEST_ANNOTATION) &&
    Object.hasOwn(a, LEGACY_ZSTD_CHECKSUM_ANNOTATION)
  ) {
    throw new FormatError(
      "layer has io.containers.zstd-chunked.* keys but no stargz toc.digest: it is containers/storage zstd:chunked v1, not estargz-zstd",
    );
  }
  const maxToc = opts.maxTocSize ?? DEFAULT_MAX_TOC_SIZE;
  const [tail] = await src.read(
    [{ offset: src.size - ZSTD_FLAVOUR_TAIL_SIZE, length: ZSTD_FLAVOUR_TAIL_SIZE }],
    opts.signal,
  );
  const footer = parseEstargzZstdFooter(tail as Buffer, src.size);
  if (footer.tocCompressedSize > maxToc || footer.tocSize > maxToc) {
    throw new LimitExceededError(
      `estargz-zstd TOC is ${footer.tocCompressedSize} bytes (${footer.tocSize} uncompressed), limit is ${maxToc}`,
    );
  }
  checkLegacyAnnotations(a, footer);
  const frameStart = footer.tocOffset - SKIPPABLE_HEADER_SIZE;
  const [frame] = await src.read(
    [{ offset: frameStart, length: footer.tocCompressedSize + SKIPPABLE_HEADER_SIZE }],
    opts.signal,
  );
  const f = frame as Buffer;
  if (f.readUInt32LE(0) !== SKIPPABLE_MAGIC || f.readUInt32LE(4) !== footer.tocCompressedSize) {
    throw new FormatError(`estargz-zstd: no TOC skippable frame at blob offset ${frameStart}`);
  }
  const compressed = f.subarray(SKIPPABLE_HEADER_SIZE);
  const legacySum = a?.[LEGACY_ZSTD_CHECKSUM_ANNOTATION];
  if (legacySum !== undefined) {
    verifyBytes(
      compressed,
      parseDigest(legacySum, LEGACY_ZSTD_CHECKSUM_ANNOTATION),
      "estargz-zstd compressed TOC",
    );
  }
  const tocJson = await zstdDecompress(compressed, footer.tocSize);
  if (tocJson.length !== footer.tocSize) {
    throw new FormatError(
      `estargz-zstd: TOC decompressed to ${tocJson.length} bytes, footer says ${footer.tocSize}`,
    );
  }
  const unknown = new Set<string>();
  const dataEnd = frameStart;
  const info = verifyAndParseToc(tocJson, dataEnd, opts, unknown);
  const foreign = CSTORAGE_TOC_KEYS.filter((k) => unknown.has(k));
  if (foreign.length > 0) {
    throw new FormatError(
      `estargz-zstd: the TOC has containers/storage keys (${foreign.join(", ")}): this is zstd:chunked, not estargz-zstd`,
    );
  }
  if (!info.tocVerified && !info.toc.entries.some((e) => isLandmark(e.name))) {
    throw new FormatError(
      "estargz-zstd: the TOC has no landmark entry and no toc.digest annotation vouches for it: this looks like containers/storage zstd:chunked v1",
    );
  }
  const files = tocFiles(info.toc, dataEnd);
  return {
    format: "estargz-zstd",
    ...info,
    footer,
    files,
    decodeChunk: chunkDecoder(files, "estargz-zstd", async (data, chunk) => {
      const skip = chunk.innerOffset ?? 0;
      // Frames after the chunk hold padding and tar headers; allow them generously but bounded.
      const out = await zstdDecompress(
        data,
        skip + chunk.size + Math.max(64 << 20, data.length * 1024),
      );
      return out.subarray(skip, skip + chunk.size);
    }),
  };
}

/** The legacy position annotation, when present, must describe the same TOC as the footer. */
function checkLegacyAnnotations(
  a: Record<string, string> | undefined,
  footer: EstargzZstdFooter,
): void {
  const pos = a?.[LEGACY_ZSTD_POSITION_ANNOTATION];
  if (pos === undefined) return;
  const want = `${footer.tocOffset}:${footer.tocCompressedSize}:${footer.tocSize}:1`;
  if (pos !== want) {
    throw new FormatError(
      `estargz-zstd: annotation ${LEGACY_ZSTD_POSITION_ANNOTATION} is ${JSON.stringify(pos)}, footer says ${want}`,
    );
  }
}

function isLandmark(name: string): boolean {
  const n = normalizeTocName(name, "estargz-zstd TOC entry");
  return n === NO_PREFETCH_LANDMARK || n === PREFETCH_LANDMARK;
}
