/**
 * eStargz footers (spec estargz.md §1.4-1.6): the 51-byte footer of current eStargz, the 47-byte
 * legacy CRFS footer, and recognition of the 46-byte external-TOC footer. Each is an empty gzip
 * member whose FEXTRA field carries the TOC offset. We write the bytes literally (pitfall 19:
 * deflate libraries do not guarantee the 51-byte size) and parse them strictly: every byte is
 * either fixed or checked, and the trailing empty deflate stream must really inflate to nothing.
 */
import { inflateRawSync } from "node:zlib";
import { FormatError } from "../../errors.js";

export const ESTARGZ_FOOTER_SIZE = 51;
export const LEGACY_FOOTER_SIZE = 47;
export const EXTERNAL_TOC_FOOTER_SIZE = 46;

export type EstargzFooterKind = "estargz" | "legacy";

export interface EstargzFooter {
  kind: EstargzFooterKind;
  /** Byte length of the footer: 51 (current) or 47 (legacy CRFS). */
  size: number;
  /** Blob offset of the first byte of the TOC gzip member. */
  tocOffset: number;
}

const GZIP_FEXTRA_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff]);
/** Empty stored deflate block, CRC32 0, ISIZE 0: what Go's NoCompression writer emitted. */
const EMPTY_DEFLATE_TRAILER = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
const STARGZ = Buffer.from("STARGZ", "latin1");
const HEX16 = /^[0-9a-fA-F]{16}$/;

/** The 51-byte footer for `tocOffset` (spec §1.4, byte listing A.1). */
export function encodeEstargzFooter(tocOffset: number): Buffer {
  const out = Buffer.alloc(ESTARGZ_FOOTER_SIZE);
  GZIP_FEXTRA_HEADER.copy(out, 0);
  out.writeUInt16LE(26, 10); // XLEN
  out.write("SG", 12, "latin1");
  out.writeUInt16LE(22, 14); // subfield LEN
  out.write(offsetHex(tocOffset), 16, "latin1");
  STARGZ.copy(out, 32);
  EMPTY_DEFLATE_TRAILER.copy(out, 38);
  return out;
}

/** The 47-byte legacy CRFS footer. Writers must not produce it; tests and fixtures do. */
export function encodeLegacyFooter(tocOffset: number): Buffer {
  const out = Buffer.alloc(LEGACY_FOOTER_SIZE);
  GZIP_FEXTRA_HEADER.copy(out, 0);
  out.writeUInt16LE(22, 10); // XLEN, no RFC 1952 subfield framing
  out.write(offsetHex(tocOffset), 12, "latin1");
  STARGZ.copy(out, 28);
  EMPTY_DEFLATE_TRAILER.copy(out, 34);
  return out;
}

function offsetHex(tocOffset: number): string {
  if (!Number.isSafeInteger(tocOffset) || tocOffset < 0) {
    throw new FormatError(`eStargz footer: invalid TOC offset ${tocOffset}`);
  }
  return tocOffset.toString(16).padStart(16, "0");
}

/**
 * Parse the last bytes of a blob as an eStargz footer: the 51-byte form first, then the legacy
 * 47-byte form (upstream order, spec §1.7 step 4). `tail` may be longer than the footer; only its
 * end is used. When `blobSize` is given, the TOC offset must leave room for a TOC member.
 */
export function parseEstargzFooter(tail: Buffer, blobSize?: number): EstargzFooter {
  const errors: string[] = [];
  for (const [kind, size, parse] of [
    ["estargz", ESTARGZ_FOOTER_SIZE, parseFooter51],
    ["legacy", LEGACY_FOOTER_SIZE, parseFooter47],
  ] as const) {
    if (tail.length < size) {
      errors.push(`${kind}: need ${size} bytes, have ${tail.length}`);
      continue;
    }
    const problem = parse(tail.subarray(tail.length - size));
    if (typeof problem === "string") {
      errors.push(`${kind}: ${problem}`);
      continue;
    }
    const footer: EstargzFooter = { kind, size, tocOffset: problem };
    if (blobSize !== undefined) checkTocOffset(footer, blobSize);
    return footer;
  }
  throw new FormatError(`not an eStargz footer (${errors.join("; ")})`);
}

/** The TOC member must start inside the blob, before the footer, and cannot be empty. */
export function checkTocOffset(footer: EstargzFooter, blobSize: number): void {
  const footerStart = blobSize - footer.size;
  if (footerStart < 0) {
    throw new FormatError(`eStargz blob of ${blobSize} bytes is smaller than its footer`);
  }
  if (footer.tocOffset >= footerStart) {
    throw new FormatError(
      `eStargz footer: TOC offset ${footer.tocOffset} is not before the footer at ${footerStart} (blob size ${blobSize})`,
    );
  }
}

/** True when `tail` ends with the 46-byte external-TOC footer (TOC lives in a separate image). */
export function isExternalTocFooter(tail: Buffer): boolean {
  if (tail.length < EXTERNAL_TOC_FOOTER_SIZE) return false;
  const f = tail.subarray(tail.length - EXTERNAL_TOC_FOOTER_SIZE);
  return (
    f.subarray(0, 10).equals(GZIP_FEXTRA_HEADER) &&
    f.readUInt16LE(10) === 21 &&
    f.toString("latin1", 12, 14) === "SG" &&
    f.readUInt16LE(14) === 17 &&
    f.toString("latin1", 16, 33) === "STARGZEXTERNALTOC" &&
    emptyDeflateWithZeroTrailer(f.subarray(33))
  );
}

/** Returns the TOC offset, or a string saying what is wrong. */
function parseFooter51(f: Buffer): number | string {
  const header = checkGzipHeader(f, 26);
  if (header) return header;
  if (f[12] !== 0x53 || f[13] !== 0x47) return "FEXTRA subfield id is not 'SG'";
  if (f.readUInt16LE(14) !== 22) return `FEXTRA subfield length ${f.readUInt16LE(14)}, want 22`;
  return parseOffsetAndTrailer(f, 16);
}

function parseFooter47(f: Buffer): number | string {
  const header = checkGzipHeader(f, 22);
  if (header) return header;
  return parseOffsetAndTrailer(f, 12);
}

/** Magic, CM=8, FLG=FEXTRA only; MTIME/XFL/OS are ignored like upstream. */
function checkGzipHeader(f: Buffer, xlen: number): string | undefined {
  if (f[0] !== 0x1f || f[1] !== 0x8b) return "no gzip magic";
  if (f[2] !== 8) return `gzip CM ${f[2]}, want 8 (deflate)`;
  if (f[3] !== 0x04) return `gzip FLG 0x${f[3]?.toString(16)}, want 0x04 (FEXTRA only)`;
  if (f.readUInt16LE(10) !== xlen) return `gzip XLEN ${f.readUInt16LE(10)}, want ${xlen}`;
  return undefined;
}

function parseOffsetAndTrailer(f: Buffer, at: number): number | string {
  const hex = f.toString("latin1", at, at + 16);
  if (!HEX16.test(hex)) return `TOC offset ${JSON.stringify(hex)} is not 16 hex digits`;
  if (!f.subarray(at + 16, at + 22).equals(STARGZ)) return "missing STARGZ marker";
  if (!emptyDeflateWithZeroTrailer(f.subarray(at + 22))) return "footer member is not empty";
  const offset = Number.parseInt(hex, 16);
  if (!Number.isSafeInteger(offset)) return `TOC offset 0x${hex} is too large`;
  return offset;
}

/** The member body: a deflate stream inflating to nothing, then CRC32 = 0 and ISIZE = 0. */
function emptyDeflateWithZeroTrailer(rest: Buffer): boolean {
  if (rest.length < 9) return false;
  const deflate = rest.subarray(0, rest.length - 8);
  if (rest.readUInt32LE(rest.length - 8) !== 0 || rest.readUInt32LE(rest.length - 4) !== 0) {
    return false;
  }
  if (deflate.equals(EMPTY_DEFLATE_TRAILER.subarray(0, 5))) return true;
  try {
    return inflateRawSync(deflate).length === 0;
  } catch {
    return false;
  }
}
