import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FormatError } from "../../src/errors.js";
import {
  type ContentRange,
  MultipartByteRangesParser,
  multipartBoundary,
  parseContentRange,
} from "../../src/registry/multipart.js";

interface Part {
  range: ContentRange;
  headers: Record<string, string>;
  data: Buffer;
}

function collect(boundary: string, body: Buffer, splitEvery: number | "byte"): Part[] {
  const parts: Part[] = [];
  let cur: Part | undefined;
  const p = new MultipartByteRangesParser(boundary, {
    partStart: (range, headers) => {
      cur = { range, headers, data: Buffer.alloc(0) };
    },
    partData: (d) => {
      cur!.data = Buffer.concat([cur!.data, d]);
    },
    partEnd: () => {
      parts.push(cur!);
    },
  });
  const step = splitEvery === "byte" ? 1 : splitEvery;
  for (let i = 0; i < body.length; i += step) p.push(body.subarray(i, i + step));
  p.end();
  return parts;
}

// What Go's http.ServeContent writes: first part without a leading CRLF, later ones with it.
function goStyle(boundary: string, blob: Buffer, ranges: Array<[number, number]>): Buffer {
  const chunks: Buffer[] = [];
  ranges.forEach(([s, e], i) => {
    chunks.push(
      Buffer.from(
        `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Range: bytes ${s}-${e}/${blob.length}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
    );
    chunks.push(blob.subarray(s, e + 1));
  });
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

// A blob full of CR, LF and dashes so that partial delimiters occur in the data.
const blob = Buffer.from(Array.from({ length: 300 }, (_, i) => "\r\n-ab:"[i % 5]!.charCodeAt(0)));

describe("multipart/byteranges parser", () => {
  const boundary = "3d6b6a416f9b5";
  const ranges: Array<[number, number]> = [
    [0, 9],
    [50, 50],
    [100, 199],
    [290, 299],
  ];
  const body = goStyle(boundary, blob, ranges);

  for (const split of ["byte", 2, 7, 64, 100000] as const) {
    it(`parses Go-style bodies fed ${split === "byte" ? "one byte" : `${split} bytes`} at a time`, () => {
      const parts = collect(boundary, body, split);
      assert.equal(parts.length, ranges.length);
      parts.forEach((p, i) => {
        const [s, e] = ranges[i]!;
        assert.deepEqual(p.range, { start: s, end: e, total: 300 });
        assert.deepEqual(p.data, blob.subarray(s, e + 1));
        assert.equal(p.headers["content-type"], "application/octet-stream");
      });
    });
  }

  it("accepts a preamble, transport padding, an epilogue and boundaries with ':'", () => {
    const b = "CloudFront:boundary:42";
    const inner = goStyle(b, blob, [[5, 14]])
      .toString("latin1")
      .replace(`--${b}\r\n`, `--${b}  \r\n`);
    const full = Buffer.from(`this is a preamble\r\n${inner}trailing epilogue`, "latin1");
    const parts = collect(b, full, "byte");
    assert.equal(parts.length, 1);
    assert.deepEqual(parts[0]!.data, blob.subarray(5, 15));
  });

  it("rejects truncated bodies and parts without Content-Range", () => {
    assert.throws(
      () => collect(boundary, body.subarray(0, body.length - 10), 3),
      (e: unknown) => e instanceof FormatError && /no closing delimiter/.test(e.message),
    );
    const noRange = Buffer.from(
      `--${boundary}\r\nContent-Type: x\r\n\r\nabc\r\n--${boundary}--\r\n`,
    );
    assert.throws(() => collect(boundary, noRange, 1), /Content-Range: missing/);
  });

  it("extracts quoted and unquoted boundaries", () => {
    assert.equal(multipartBoundary("multipart/byteranges; boundary=abc:def"), "abc:def");
    assert.equal(multipartBoundary('multipart/byteranges; boundary="a b:c"'), "a b:c");
    assert.equal(multipartBoundary("Multipart/ByteRanges;boundary=xyz; charset=x"), "xyz");
    assert.equal(multipartBoundary("application/octet-stream"), undefined);
    assert.throws(() => multipartBoundary("multipart/byteranges"), FormatError);
  });

  it("parses Content-Range strictly", () => {
    assert.deepEqual(parseContentRange("bytes 0-9/100"), { start: 0, end: 9, total: 100 });
    assert.deepEqual(parseContentRange("bytes 5-5/*"), { start: 5, end: 5, total: undefined });
    for (const bad of [
      "bytes 9-0/100",
      "bytes 0-100/100",
      "items 0-1/2",
      "bytes */100",
      "bytes 0-1",
    ]) {
      assert.throws(() => parseContentRange(bad), FormatError, bad);
    }
  });
});
