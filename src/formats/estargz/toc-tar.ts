/**
 * The tar entry that carries the TOC inside its gzip member (spec estargz.md §1.3, Appendix A.3):
 * `stargz.index.json`, USTAR, mode 0000, mtime 0, followed by padding and its own end-of-archive.
 * Both directions live here because the header is fixed: nothing of the input tar reaches it.
 */
import { FormatError, LimitExceededError } from "../../errors.js";
import { TOC_TAR_NAME } from "./toc.js";

const BLOCK = 512;

/**
 * A USTAR header as Go's archive/tar writes `{Name, Typeflag '0', Size}` with every other field
 * zero: the TOC entry and the landmark files (spec Appendix A.3, §1.8).
 */
export function zeroMetadataFileHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, "latin1");
  header.write("0000000\0", 100, "latin1"); // mode
  header.write("0000000\0", 108, "latin1"); // uid
  header.write("0000000\0", 116, "latin1"); // gid
  header.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
  header.write("00000000000\0", 136, "latin1"); // mtime
  header.write("0", 156, "latin1"); // typeflag
  header.write("ustar\0" + "00", 257, "latin1");
  header.write("0000000\0", 329, "latin1"); // devmajor
  header.write("0000000\0", 337, "latin1"); // devminor
  header.write("        ", 148, "latin1");
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return header;
}

/** Header + JSON + padding + 1024 zero bytes, exactly as Go's archive/tar writes it. */
export function encodeTocTar(json: Buffer): Buffer {
  if (json.length >= 8 ** 11) throw new LimitExceededError("eStargz TOC JSON >= 8 GiB");
  const padding = (BLOCK - (json.length % BLOCK)) % BLOCK;
  return Buffer.concat([
    zeroMetadataFileHeader(TOC_TAR_NAME, json.length),
    json,
    Buffer.alloc(padding + 2 * BLOCK),
  ]);
}

/**
 * The body of the first tar entry of the decompressed TOC member, which must be a regular file
 * named exactly `stargz.index.json` (upstream `decompressTOCEStargz`). Accepts plain USTAR, GNU
 * and V7 headers, which is what every known writer emits for this short name.
 */
export function readTocTarEntry(tar: Buffer, maxSize: number): Buffer {
  if (tar.length < BLOCK) throw new FormatError("eStargz TOC member: shorter than a tar header");
  const h = tar.subarray(0, BLOCK);
  const stored = parseOctal(h.subarray(148, 156), "checksum");
  let unsigned = 0;
  for (let i = 0; i < BLOCK; i++) unsigned += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
  if (stored !== unsigned) {
    throw new FormatError(
      `eStargz TOC member: tar header checksum ${stored}, computed ${unsigned}`,
    );
  }
  const typeflag = h[156];
  if (typeflag !== 0x30 && typeflag !== 0) {
    throw new FormatError(
      `eStargz TOC member: first tar entry has type ${JSON.stringify(String.fromCharCode(typeflag ?? 0))}, want a regular file`,
    );
  }
  const name = cString(h.subarray(0, 100));
  const prefix = h.toString("latin1", 257, 263) === "ustar\0" ? cString(h.subarray(345, 500)) : "";
  const fullName = prefix ? `${prefix}/${name}` : name;
  if (fullName !== TOC_TAR_NAME) {
    throw new FormatError(
      `eStargz TOC member: TOC tar entry had name ${JSON.stringify(fullName)}, want ${TOC_TAR_NAME}`,
    );
  }
  const size = parseSize(h.subarray(124, 136));
  if (size > maxSize) {
    throw new LimitExceededError(`eStargz TOC is ${size} bytes, limit is ${maxSize}`);
  }
  if (BLOCK + size > tar.length) {
    throw new FormatError(
      `eStargz TOC member: entry declares ${size} bytes, member holds ${tar.length - BLOCK}`,
    );
  }
  return tar.subarray(BLOCK, BLOCK + size);
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString("utf8", 0, nul < 0 ? b.length : nul);
}

function parseOctal(b: Buffer, what: string): number {
  const text = b
    .toString("latin1")
    .replace(/[\0 ]+$/, "")
    .replace(/^ +/, "");
  if (!/^[0-7]+$/.test(text)) {
    throw new FormatError(`eStargz TOC member: tar ${what} field ${JSON.stringify(text)}`);
  }
  return Number.parseInt(text, 8);
}

/** Octal, or GNU base-256 (high bit set) for sizes past 8 GiB. */
function parseSize(b: Buffer): number {
  if (((b[0] as number) & 0x80) === 0) return parseOctal(b, "size");
  let v = (b[0] as number) & 0x7f;
  for (let i = 1; i < b.length; i++) v = v * 256 + (b[i] as number);
  if (!Number.isSafeInteger(v)) throw new FormatError("eStargz TOC member: tar size overflows");
  return v;
}
