/**
 * Range semantics of Go's net/http ServeContent (src/net/http/fs.go), which is what
 * distribution/registry uses to serve blobs: parseRange, sumRangesSize, the multipart/byteranges
 * layout of mime/multipart's Writer, and the exact Content-Length of a multipart body.
 * Pure functions: no I/O, so the layout can be unit-tested against the real registry's bytes.
 */
import { randomBytes } from "node:crypto";

/** One satisfiable range: `start` inclusive, `length` bytes (may be 0 for `bytes=-0`). */
export interface ByteRange {
  start: number;
  length: number;
}

export type ParsedRange =
  /** No Range header (or an empty one): serve the whole body. */
  | { kind: "none" }
  | { kind: "ranges"; ranges: ByteRange[] }
  /** Syntax error: Go answers 416 without Content-Range. */
  | { kind: "invalid" }
  /** Every range starts at or past EOF: Go answers 416 with `bytes *\/SIZE` (200 if size is 0). */
  | { kind: "no-overlap" };

const INT64_MAX = (1n << 63n) - 1n;

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, int64 range. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  if (v > INT64_MAX || v < -INT64_MAX - 1n) return undefined;
  return v;
}

/** textproto.TrimString: trims ASCII space, tab, CR and LF only. */
function trimAscii(s: string): string {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
}

/** Go's parseRange(s, size), returning the same outcomes it does. */
export function parseRange(header: string | undefined, size: number): ParsedRange {
  if (header === undefined || header === "") return { kind: "none" };
  const prefix = "bytes=";
  if (!header.startsWith(prefix)) return { kind: "invalid" };
  const bigSize = BigInt(size);
  const ranges: ByteRange[] = [];
  let noOverlap = false;
  for (const raw of header.slice(prefix.length).split(",")) {
    const spec = trimAscii(raw);
    if (spec === "") continue;
    const dash = spec.indexOf("-");
    if (dash < 0) return { kind: "invalid" };
    const startText = trimAscii(spec.slice(0, dash));
    const endText = trimAscii(spec.slice(dash + 1));
    if (startText === "") {
      // Suffix range: the last N bytes.
      if (endText === "" || endText[0] === "-") return { kind: "invalid" };
      let n = parseInt64(endText);
      if (n === undefined || n < 0n) return { kind: "invalid" };
      if (n > bigSize) n = bigSize;
      const start = bigSize - n;
      ranges.push({ start: Number(start), length: Number(bigSize - start) });
      continue;
    }
    const start = parseInt64(startText);
    if (start === undefined || start < 0n) return { kind: "invalid" };
    if (start >= bigSize) {
      noOverlap = true;
      continue;
    }
    if (endText === "") {
      ranges.push({ start: Number(start), length: Number(bigSize - start) });
      continue;
    }
    let end = parseInt64(endText);
    if (end === undefined || start > end) return { kind: "invalid" };
    if (end >= bigSize) end = bigSize - 1n;
    ranges.push({ start: Number(start), length: Number(end - start + 1n) });
  }
  if (noOverlap && ranges.length === 0) return { kind: "no-overlap" };
  return { kind: "ranges", ranges };
}

export function sumRangesSize(ranges: readonly ByteRange[]): number {
  let total = 0;
  for (const r of ranges) total += r.length;
  return total;
}

export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.start + r.length - 1}/${size}`;
}

/** mime/multipart randomBoundary: 30 random bytes as 60 lowercase hex digits. */
export function randomBoundary(): string {
  return randomBytes(30).toString("hex");
}

/** A boundary containing ':' (CloudFront style); it must then be sent unquoted to reproduce quay.io. */
export function colonBoundary(): string {
  return `CloudFront:${randomBytes(12).toString("hex").toUpperCase()}`;
}

/**
 * The bytes multipart.Writer emits before a part's data: `--B` (preceded by CRLF for every part
 * but the first), CRLF, the part headers sorted by key (Content-Range < Content-Type), CRLF.
 */
export function partPreamble(
  boundary: string,
  index: number,
  r: ByteRange,
  size: number,
  contentType: string,
): string {
  const lead = index === 0 ? `--${boundary}\r\n` : `\r\n--${boundary}\r\n`;
  return `${lead}Content-Range: ${contentRange(r, size)}\r\nContent-Type: ${contentType}\r\n\r\n`;
}

/** multipart.Writer.Close(): CRLF, `--B--`, CRLF. */
export function closingDelimiter(boundary: string): string {
  return `\r\n--${boundary}--\r\n`;
}

/** Go's rangesMIMESize: the exact length of the multipart body. */
export function multipartSize(
  boundary: string,
  ranges: readonly ByteRange[],
  size: number,
  contentType: string,
): number {
  let total = 0;
  ranges.forEach((r, i) => {
    total += Buffer.byteLength(partPreamble(boundary, i, r, size, contentType)) + r.length;
  });
  return total + Buffer.byteLength(closingDelimiter(boundary));
}

/** The Content-Type of a multipart answer; Go never quotes its hex boundary. */
export function multipartContentType(boundary: string): string {
  return `multipart/byteranges; boundary=${boundary}`;
}
