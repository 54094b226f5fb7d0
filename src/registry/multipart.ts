/**
 * Streaming `multipart/byteranges` parser (RFC 9110 §14.6, RFC 2046 §5.1). Feeds part data on
 * as it arrives (bounded memory: only a delimiter's worth of bytes and part headers are held),
 * accepts quoted and unquoted boundaries (CloudFront sends `boundary=abc:def` unquoted),
 * a preamble and an epilogue, and hands each part's parsed Content-Range to the caller: parts
 * are identified by Content-Range, never by their order.
 */
import { FormatError } from "../errors.js";

export interface ContentRange {
  /** First byte (inclusive). */
  start: number;
  /** Last byte (inclusive). */
  end: number;
  /** Complete length, undefined for `*`. */
  total: number | undefined;
}

const CONTENT_RANGE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i;

/** Strict `bytes first-last/complete` parser; throws FormatError for anything else. */
export function parseContentRange(
  value: string | undefined,
  where = "Content-Range",
): ContentRange {
  if (value === undefined) throw new FormatError(`${where}: missing`);
  const m = CONTENT_RANGE.exec(value.trim());
  if (!m) throw new FormatError(`${where}: cannot parse ${JSON.stringify(value.slice(0, 100))}`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === "*" ? undefined : Number(m[3]);
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    end < start ||
    (total !== undefined && end >= total)
  ) {
    throw new FormatError(`${where}: invalid range ${JSON.stringify(value)}`);
  }
  return { start, end, total };
}

/** The boundary of a `multipart/byteranges` Content-Type, or undefined when it is not multipart. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/byteranges\b/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(contentType);
  const boundary = m ? (m[1] ?? m[2]) : undefined;
  if (!boundary)
    throw new FormatError(
      `Content-Type ${JSON.stringify(contentType)}: multipart without a boundary`,
    );
  if (boundary.length > 200) throw new FormatError("multipart boundary longer than 200 characters");
  return boundary;
}

export interface PartHandler {
  /** A part begins; `headers` are lower-cased. */
  partStart(range: ContentRange, headers: Record<string, string>): void;
  /** Bytes of the current part, in order. */
  partData(data: Buffer): void;
  partEnd(): void;
}

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from("\r\n");

type State = "preamble" | "afterDelimiter" | "headers" | "body" | "epilogue";

export class MultipartByteRangesParser {
  private readonly delimiter: Buffer;
  // The body starts as if preceded by CRLF so the first delimiter needs no special case.
  private pending: Buffer = CRLF;
  private state: State = "preamble";
  private partIndex = 0;

  constructor(
    boundary: string,
    private readonly handler: PartHandler,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, "latin1");
  }

  /** True once the closing delimiter was seen. */
  get done(): boolean {
    return this.state === "epilogue";
  }

  push(chunk: Buffer): void {
    if (this.state === "epilogue") return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.drain();
  }

  /** Call at the end of the body; throws FormatError when the closing delimiter never came. */
  end(): void {
    if (this.state !== "epilogue") {
      throw new FormatError(
        `multipart/byteranges body ended inside ${this.state === "body" ? `part ${this.partIndex}` : `the ${this.state}`} (no closing delimiter)`,
      );
    }
  }

  private drain(): void {
    for (;;) {
      const buf = this.pending;
      switch (this.state) {
        case "preamble": {
          const i = buf.indexOf(this.delimiter);
          if (i === -1) {
            this.pending = buf.subarray(Math.max(0, buf.length - this.delimiter.length + 1));
            return;
          }
          this.pending = buf.subarray(i + this.delimiter.length);
          this.state = "afterDelimiter";
          break;
        }
        case "afterDelimiter": {
          if (buf.length < 2) return;
          if (buf[0] === 0x2d && buf[1] === 0x2d) {
            this.state = "epilogue";
            this.pending = Buffer.alloc(0);
            return;
          }
          // Transport padding (spaces/tabs) may follow the boundary before the CRLF.
          const eol = buf.indexOf(CRLF);
          if (eol === -1) {
            if (buf.length > 256)
              throw new FormatError("multipart: garbage after a boundary delimiter");
            return;
          }
          if (!/^[ \t]*$/.test(buf.subarray(0, eol).toString("latin1"))) {
            throw new FormatError("multipart: unexpected characters after a boundary delimiter");
          }
          this.pending = buf.subarray(eol + 2);
          this.state = "headers";
          break;
        }
        case "headers": {
          let endOfHeaders: number;
          let skip: number;
          if (buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
            endOfHeaders = 0;
            skip = 2;
          } else {
            endOfHeaders = buf.indexOf("\r\n\r\n");
            skip = 4;
          }
          if (endOfHeaders === -1) {
            if (buf.length > MAX_HEADER_BYTES)
              throw new FormatError(
                `multipart: headers of part ${this.partIndex} exceed ${MAX_HEADER_BYTES} bytes`,
              );
            return;
          }
          const headers = parseHeaders(buf.subarray(0, endOfHeaders).toString("latin1"));
          const range = parseContentRange(
            headers["content-range"],
            `multipart part ${this.partIndex} Content-Range`,
          );
          this.pending = buf.subarray(endOfHeaders + skip);
          this.state = "body";
          this.handler.partStart(range, headers);
          break;
        }
        case "body": {
          const i = buf.indexOf(this.delimiter);
          if (i === -1) {
            // Keep what could be the start of a delimiter split across chunks.
            const keep = Math.min(buf.length, this.delimiter.length - 1);
            const safe = buf.length - keep;
            if (safe > 0) this.handler.partData(buf.subarray(0, safe));
            this.pending = Buffer.from(buf.subarray(safe));
            return;
          }
          if (i > 0) this.handler.partData(buf.subarray(0, i));
          this.handler.partEnd();
          this.partIndex++;
          this.pending = buf.subarray(i + this.delimiter.length);
          this.state = "afterDelimiter";
          break;
        }
        case "epilogue":
          return;
      }
    }
  }
}

function parseHeaders(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (block === "") return out;
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0)
      throw new FormatError(
        `multipart: malformed part header line ${JSON.stringify(line.slice(0, 100))}`,
      );
    out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}
