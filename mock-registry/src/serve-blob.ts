/**
 * Serving blob bytes the way distribution 2.8 does (blobserver.go then Go's http.ServeContent),
 * with the range-related misbehaviours of other servers switchable by mode. Compared byte for
 * byte against the real docker-registry in test/mock-registry/compare-docker-registry.test.ts.
 */
import type { Readable } from "node:stream";
import { type BodyPiece, endWith, type RequestContext, sendBody } from "./http.js";
import {
  type ByteRange,
  closingDelimiter,
  colonBoundary,
  contentRange,
  multipartContentType,
  multipartSize,
  parseRange,
  partPreamble,
  randomBoundary,
  sumRangesSize,
} from "./ranges.js";
import type { BehaviourModes } from "./types.js";

export interface BlobSource {
  digest: string;
  size: number;
  /** Bytes [start, end). */
  open(start: number, end: number): Readable;
}

const CONTENT_TYPE = "application/octet-stream";

async function* rangePieces(blob: BlobSource, r: ByteRange): AsyncGenerator<BodyPiece> {
  if (r.length === 0) return;
  let offset = r.start;
  for await (const chunk of blob.open(r.start, r.start + r.length)) {
    const data = chunk as Buffer;
    yield { data, blobOffset: offset };
    offset += data.length;
  }
}

async function* multipartPieces(
  blob: BlobSource,
  ranges: readonly ByteRange[],
  boundary: string,
): AsyncGenerator<BodyPiece> {
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    yield { data: Buffer.from(partPreamble(boundary, i, r, blob.size, CONTENT_TYPE)) };
    yield* rangePieces(blob, r);
  }
  yield { data: Buffer.from(closingDelimiter(boundary)) };
}

/**
 * Go 1.19's http.Error after blobserver already set Content-Length to the blob size: the header
 * stays, the body is one short line, and Go closes the connection because the handler wrote
 * fewer bytes than declared. Reproduced because clients meet exactly this on a 416.
 */
function goRangeError(ctx: RequestContext, blob: BlobSource, message: string): void {
  const { res } = ctx;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Content-Length", String(blob.size));
  res.writeHead(416, "Requested Range Not Satisfiable");
  if (ctx.req.method === "HEAD") {
    endWith(ctx, Buffer.alloc(0));
    return;
  }
  const body = Buffer.from(`${message}\n`);
  if (body.length >= blob.size) {
    // Go refuses writes past the declared Content-Length: the message is cut at the blob size.
    endWith(ctx, body.subarray(0, blob.size));
    return;
  }
  ctx.rec.bytesSent += body.length;
  res.write(body, () => res.socket?.end());
}

/** Refuse a range set the way a non-Go server in front of a registry would. */
function rejectMultiRange(ctx: RequestContext, blob: BlobSource, status: number): void {
  const { res } = ctx;
  for (const h of ["Etag", "Cache-Control", "Docker-Content-Digest", "Content-Type"]) {
    res.removeHeader(h);
  }
  const text =
    status === 501
      ? "Unsupported client range"
      : status === 416
        ? "Requested Range Not Satisfiable"
        : "Bad Request: multiple ranges are not supported";
  const body = Buffer.from(`${text}\n`);
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("Content-Length", String(body.length));
  if (status === 416) res.setHeader("Content-Range", `bytes */${blob.size}`);
  res.writeHead(status);
  endWith(ctx, ctx.req.method === "HEAD" ? Buffer.alloc(0) : body);
}

/** The If-Range / If-None-Match parts of Go's checkPreconditions that matter for blobs. */
function effectiveRangeHeader(ctx: RequestContext, etag: string): string | undefined {
  const range = ctx.req.headers.range;
  if (range === undefined) return undefined;
  const rawIfRange = ctx.req.headers["if-range"];
  const ifRange = Array.isArray(rawIfRange) ? rawIfRange[0] : rawIfRange;
  if (ifRange !== undefined) {
    // A date never matches (ServeContent gets a zero modtime); an ETag must match strongly.
    if (!ifRange.startsWith('"') || ifRange !== etag) return undefined;
  }
  return range;
}

function etagMatches(header: string, etag: string): boolean {
  return header
    .split(",")
    .map((s) => s.trim().replace(/^W\//, ""))
    .some((t) => t === "*" || t === etag);
}

export async function serveBlob(
  ctx: RequestContext,
  blob: BlobSource,
  modes: BehaviourModes,
): Promise<void> {
  const { req, res } = ctx;
  const etag = `"${blob.digest}"`;
  res.setHeader("Etag", etag);
  res.setHeader("Cache-Control", "max-age=31536000");
  res.setHeader("Docker-Content-Digest", blob.digest);
  res.setHeader("Content-Type", CONTENT_TYPE);
  res.setHeader("Content-Length", String(blob.size));

  const ifNoneMatch = req.headers["if-none-match"];
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etag)) {
    res.removeHeader("Content-Type");
    res.removeHeader("Content-Length");
    res.writeHead(304);
    endWith(ctx, Buffer.alloc(0));
    return;
  }

  const header = modes.ignoreRange ? undefined : effectiveRangeHeader(ctx, etag);
  if (modes.closedRangesOnly && header !== undefined && !/^bytes=\d+-\d+$/.test(header)) {
    return rejectMultiRange(ctx, blob, 416);
  }
  const parsed = parseRange(header, blob.size);
  let ranges: ByteRange[] = [];
  if (parsed.kind === "invalid") return goRangeError(ctx, blob, "invalid range");
  if (parsed.kind === "no-overlap") {
    // Go >= 1.22 answers 200 for an empty blob here; distribution 2.8 (Go 1.19) answers 416.
    res.setHeader("Content-Range", `bytes */${blob.size}`);
    return goRangeError(ctx, blob, "invalid range: failed to overlap");
  }
  if (parsed.kind === "ranges") {
    ranges = parsed.ranges;
  }

  if (ranges.length > 1) {
    switch (modes.multiRange) {
      case "full200":
        ranges = [];
        break;
      case "status400":
        return rejectMultiRange(ctx, blob, 400);
      case "status416":
        return rejectMultiRange(ctx, blob, 416);
      case "status501":
        return rejectMultiRange(ctx, blob, 501);
      case "firstOnly":
        ranges = [ranges[0]!];
        break;
      case "reorder":
        ranges = [...ranges].reverse();
        break;
      case "multipart":
        break;
    }
  }
  // Go ignores a Range whose parts add up to more than the blob (probably an attack).
  if (sumRangesSize(ranges) > blob.size) ranges = [];

  let status = 200;
  let length = blob.size;
  let pieces: AsyncIterable<BodyPiece>;
  if (ranges.length === 1) {
    const r = ranges[0]!;
    status = 206;
    length = r.length;
    res.setHeader("Content-Range", contentRange(r, blob.size));
    pieces = rangePieces(blob, r);
  } else if (ranges.length > 1) {
    status = 206;
    const boundary = modes.colonBoundary ? colonBoundary() : randomBoundary();
    length = multipartSize(boundary, ranges, blob.size, CONTENT_TYPE);
    res.setHeader("Content-Type", multipartContentType(boundary));
    pieces = multipartPieces(blob, ranges, boundary);
  } else {
    pieces = rangePieces(blob, { start: 0, length: blob.size });
  }
  if (modes.acceptRanges) res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("Content-Length", String(length));
  res.writeHead(status);
  if (req.method === "HEAD") {
    endWith(ctx, Buffer.alloc(0));
    return;
  }
  await sendBody(ctx, pieces, modes);
}
