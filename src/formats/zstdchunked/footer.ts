/**
 * The binary footer at the end of a zstd:chunked blob (spec §1.7). c/storage never reads it since
 * v1.54 (annotations are authoritative); we read it only for offline, self-describing use, and
 * never trust it for security: the TOC digest must still come from elsewhere.
 *
 * Three layouts exist, each the payload of the blob's last skippable frame:
 *  A  40 bytes, magic "GnUlInUx" (c/storage v1.31-v1.46): TOC position only.
 *  B  56 bytes (v1.47-v1.49, broken): A's 40 bytes then 16 zero bytes; no tar-split position.
 *  C  64 bytes, magic "GNUlInUx" (v1.50+): TOC and tar-split positions.
 *
 * stargz-snapshotter's "zstdchunked" (estargz-zstd) ends with the very same 40-byte layout as A
 * (same magic, same fields). The footer alone cannot tell them apart. What differs is around it:
 * its descriptor carries `containerd.io/snapshot/stargz/toc.digest`, and its TOC is an eStargz
 * JTOC (tab-indented JSON, `chunkSize` on every reg entry, no `endOffset`, landmark entries);
 * use `looksLikeStargzToc` from toc.ts on the decompressed TOC, or the annotations, to decide.
 */
import { FormatError } from "../../errors.js";
import { SKIPPABLE_HEADER_SIZE, SKIPPABLE_MAGIC } from "../zstd.js";
import type { MetadataPosition } from "./annotations.js";

/** Read this many bytes from the end of a blob: enough for every variant (8 + 64). */
export const FOOTER_TAIL_SIZE = 72;
export const FOOTER_SIZE = 64;
const MAGIC_C = Buffer.from("GNUlInUx", "latin1");
const MAGIC_A = Buffer.from("GnUlInUx", "latin1");
const MANIFEST_TYPE_CRFS = 1;

export type FooterVariant = "A" | "B" | "C";

export interface ParsedFooter {
  variant: FooterVariant;
  toc: MetadataPosition;
  /** Variant C: from the footer. Variant B: derived from the frame layout (uncompressed length 0 = unknown). */
  tarSplit?: MetadataPosition;
  /** Blob offset where the footer's skippable frame starts (= end of the metadata frames). */
  footerFrameOffset: number;
}

function isSkippableHeader(buf: Buffer, at: number, payloadLength: number): boolean {
  return (
    at >= 0 &&
    at + 8 <= buf.length &&
    buf.readUInt32LE(at) === SKIPPABLE_MAGIC &&
    buf.readUInt32LE(at + 4) === payloadLength
  );
}

function u64(buf: Buffer, at: number, what: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(`footer: ${what} ${v} too large`);
  return Number(v);
}

/**
 * Detect and parse the footer. `tail` holds the last min(FOOTER_TAIL_SIZE, blobSize) bytes of
 * a blob of `blobSize` bytes. Throws FormatError when no variant matches or a position is out
 * of range.
 */
export function parseFooter(tail: Buffer, blobSize: number): ParsedFooter {
  if (tail.length !== Math.min(FOOTER_TAIL_SIZE, blobSize)) {
    throw new FormatError(`footer: expected the last ${FOOTER_TAIL_SIZE} bytes of the blob`);
  }
  const n = tail.length;
  const last8 = tail.subarray(n - 8);
  let variant: FooterVariant;
  let footer: Buffer;
  if (n >= 72 && isSkippableHeader(tail, n - 72, 64) && last8.equals(MAGIC_C)) {
    variant = "C";
    footer = tail.subarray(n - 64);
  } else if (
    n >= 64 &&
    isSkippableHeader(tail, n - 64, 56) &&
    tail.subarray(n - 24, n - 16).equals(MAGIC_A) &&
    tail.subarray(n - 16).every((b) => b === 0)
  ) {
    variant = "B";
    footer = tail.subarray(n - 56);
  } else if (n >= 48 && isSkippableHeader(tail, n - 48, 40) && last8.equals(MAGIC_A)) {
    variant = "A";
    footer = tail.subarray(n - 40);
  } else {
    throw new FormatError("footer: no zstd:chunked footer (bad skippable header or magic)");
  }
  const footerFrameOffset = blobSize - footer.length - SKIPPABLE_HEADER_SIZE;
  const toc: MetadataPosition = {
    offset: u64(footer, 0, "TOC offset"),
    length: u64(footer, 8, "TOC length"),
    uncompressedLength: u64(footer, 16, "TOC uncompressed length"),
  };
  const type = u64(footer, 24, "manifest type");
  if (type !== MANIFEST_TYPE_CRFS) throw new FormatError(`footer: manifest type ${type}, want 1`);
  checkRange(toc, SKIPPABLE_HEADER_SIZE, footerFrameOffset, "TOC");
  const result: ParsedFooter = { variant, toc, footerFrameOffset };
  if (variant === "C") {
    const tarSplit: MetadataPosition = {
      offset: u64(footer, 32, "tar-split offset"),
      length: u64(footer, 40, "tar-split length"),
      uncompressedLength: u64(footer, 48, "tar-split uncompressed length"),
    };
    checkRange(
      tarSplit,
      toc.offset + toc.length + SKIPPABLE_HEADER_SIZE,
      footerFrameOffset,
      "tar-split",
    );
    result.tarSplit = tarSplit;
  } else if (variant === "B") {
    // The v1.47-v1.49 writer had a tar-split frame but never wrote its position: it is the frame
    // between the TOC frame and the footer frame, when there is room for one.
    const offset = toc.offset + toc.length + SKIPPABLE_HEADER_SIZE;
    if (offset < footerFrameOffset) {
      result.tarSplit = { offset, length: footerFrameOffset - offset, uncompressedLength: 0 };
    }
  }
  return result;
}

function checkRange(p: MetadataPosition, min: number, max: number, what: string): void {
  if (p.offset < min || p.offset + p.length > max || p.length === 0) {
    throw new FormatError(
      `footer: ${what} range [${p.offset}, ${p.offset + p.length}) outside [${min}, ${max})`,
    );
  }
}

/** The final skippable frame of a current (Variant C) blob: 8-byte header + 64-byte footer. */
export function encodeFooter(toc: MetadataPosition, tarSplit: MetadataPosition): Buffer {
  const out = Buffer.alloc(FOOTER_TAIL_SIZE);
  out.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  out.writeUInt32LE(FOOTER_SIZE, 4);
  const fields = [
    toc.offset,
    toc.length,
    toc.uncompressedLength,
    MANIFEST_TYPE_CRFS,
    tarSplit.offset,
    tarSplit.length,
    tarSplit.uncompressedLength,
  ];
  fields.forEach((v, i) => {
    out.writeBigUInt64LE(BigInt(v), 8 + i * 8);
  });
  MAGIC_C.copy(out, 64);
  return out;
}

/** A Variant A skippable frame (8 + 40 bytes), as old writers produced; for tests and tools. */
export function encodeFooterV1(toc: MetadataPosition): Buffer {
  const out = Buffer.alloc(48);
  out.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  out.writeUInt32LE(40, 4);
  [toc.offset, toc.length, toc.uncompressedLength, MANIFEST_TYPE_CRFS].forEach((v, i) => {
    out.writeBigUInt64LE(BigInt(v), 8 + i * 8);
  });
  MAGIC_A.copy(out, 40);
  return out;
}
