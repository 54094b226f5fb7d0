/**
 * Property-based fuzzing of the HTTP range surface: the client's multipart/byteranges parser
 * (and its Content-Range / boundary helpers) and the mock registry's Range header parser.
 * Valid bodies must parse back to exactly the parts that were written, in any piece sizes;
 * damaged ones must fail typed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { parseRange } from "../../mock-registry/src/ranges.js";
import {
  type ContentRange,
  MultipartByteRangesParser,
  multipartBoundary,
  parseContentRange,
} from "../../src/registry/multipart.js";
import { mutated, params, pieces, typedSync } from "./harness.js";

const TIMEOUT = { timeout: 120_000 };

interface Part {
  start: number;
  data: Buffer;
}

/** bchars of RFC 2046 (without space, which may not end a boundary). */
const boundary = fc.stringMatching(/^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/);

const parts = fc.array(
  fc.record({
    start: fc.nat({ max: 1 << 20 }),
    data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  }),
  { minLength: 1, maxLength: 5 },
);

function body(b: string, ps: Array<{ start: number; data: Uint8Array }>, total: number): Buffer {
  const out: Buffer[] = [Buffer.from("preamble to ignore")];
  for (const p of ps) {
    out.push(
      Buffer.from(
        `\r\n--${b}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${p.start}-${p.start + p.data.length - 1}/${total}\r\n\r\n`,
        "latin1",
      ),
      Buffer.from(p.data),
    );
  }
  out.push(Buffer.from(`\r\n--${b}--\r\nepilogue`, "latin1"));
  return Buffer.concat(out);
}

function parse(b: string, chunks: Buffer[]): Array<{ range: ContentRange; data: Buffer }> {
  const got: Array<{ range: ContentRange; data: Buffer[] }> = [];
  const parser = new MultipartByteRangesParser(b, {
    partStart: (range) => void got.push({ range, data: [] }),
    partData: (d) => void got.at(-1)!.data.push(Buffer.from(d)),
    partEnd: () => {},
  });
  for (const c of chunks) parser.push(c);
  parser.end();
  return got.map((g) => ({ range: g.range, data: Buffer.concat(g.data) }));
}

describe("fuzz: multipart/byteranges", () => {
  test("valid bodies parse back to their parts, whatever the piece sizes", TIMEOUT, () => {
    fc.assert(
      fc.property(boundary, parts, fc.array(fc.nat(), { maxLength: 8 }), (b, ps, cuts) => {
        // A part's data must not contain the delimiter itself (servers pick boundaries so).
        const delimiter = Buffer.from(`\r\n--${b}`, "latin1");
        fc.pre(ps.every((p) => !Buffer.from(p.data).includes(delimiter)));
        const total =
          Math.max(
            ...ps.map((p: Part | { start: number; data: Uint8Array }) => p.start + p.data.length),
          ) + 1;
        const got = parse(b, pieces(body(b, ps, total), cuts));
        assert.equal(got.length, ps.length);
        got.forEach((g, i) => {
          assert.equal(g.range.start, ps[i]!.start);
          assert.equal(g.range.end, ps[i]!.start + ps[i]!.data.length - 1);
          assert.deepEqual(g.data, Buffer.from(ps[i]!.data));
        });
      }),
      params(),
    );
  });

  test("damaged bodies fail typed (or parse), never raw", TIMEOUT, () => {
    const damaged = fc
      .tuple(boundary, parts)
      .chain(([b, ps]) => fc.tuple(fc.constant(b), mutated(body(b, ps, 1 << 21))));
    fc.assert(
      fc.property(
        fc.oneof(damaged, fc.tuple(boundary, fc.uint8Array({ maxLength: 600 }).map(Buffer.from))),
        fc.array(fc.nat(), { maxLength: 8 }),
        ([b, data], cuts) => typedSync("multipart parser", () => parse(b, pieces(data, cuts))),
      ),
      params(),
    );
  });

  test("Content-Range and Content-Type helpers", TIMEOUT, () => {
    const contentRange = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc
        .tuple(
          fc.bigInt({ min: -5n, max: 1n << 70n }),
          fc.bigInt({ min: -5n, max: 1n << 70n }),
          fc.oneof(fc.bigInt({ min: 0n, max: 1n << 70n }).map(String), fc.constant("*")),
        )
        .map(([s, e, t]) => `bytes ${s}-${e}/${t}`),
    );
    const contentType = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ maxLength: 250 }).map((b) => `multipart/byteranges; boundary=${b}`),
      fc.string({ maxLength: 30 }).map((b) => `multipart/byteranges; boundary="${b}"`),
    );
    fc.assert(
      fc.property(contentRange, contentType, (cr, ct) => {
        typedSync("parseContentRange", () => {
          const r = parseContentRange(cr);
          assert.ok(Number.isSafeInteger(r.start) && r.start <= r.end);
          if (r.total !== undefined) assert.ok(r.end < r.total);
        });
        typedSync("multipartBoundary", () => multipartBoundary(ct));
      }),
      params(),
    );
  });
});

describe("fuzz: the mock registry's Range parser", () => {
  test("never throws; every range lies inside the blob", TIMEOUT, () => {
    // Found by this fuzzer: Go's zero-length answers to suffix ranges.
    assert.deepEqual(parseRange("bytes=-0", 10), {
      kind: "ranges",
      ranges: [{ start: 10, length: 0 }],
    });
    assert.deepEqual(parseRange("bytes=-5", 0), {
      kind: "ranges",
      ranges: [{ start: 0, length: 0 }],
    });
    const spec = fc.oneof(
      fc
        .tuple(
          fc.option(fc.bigInt({ min: -3n, max: 1n << 65n })),
          fc.option(fc.bigInt({ min: -3n, max: 1n << 65n })),
        )
        .map(([s, e]) => `${s ?? ""}-${e ?? ""}`),
      fc.string({ maxLength: 12 }),
      fc.constantFrom("-0", "0-0", "-1", "0-", "-", " 1 - 2 "),
    );
    const header = fc.oneof(
      fc.array(spec, { maxLength: 6 }).map((s) => `bytes=${s.join(",")}`),
      fc.string({ maxLength: 40 }),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(header, fc.nat({ max: 1 << 30 }), (h, size) => {
        const r = parseRange(h, size);
        if (r.kind !== "ranges") return;
        for (const x of r.ranges) {
          assert.ok(Number.isSafeInteger(x.start) && x.start >= 0, JSON.stringify({ h, size, x }));
          // Go answers a suffix range `-0` (or any suffix of an empty blob) with a zero-length
          // range, and the mock keeps Go's outcomes; every other range has bytes.
          assert.ok(x.length >= 0 && x.start + x.length <= size, JSON.stringify({ h, size, x }));
          if (x.length === 0)
            assert.ok(/(^|[=,]\s*)-/.test(h ?? ""), JSON.stringify({ h, size, x }));
        }
      }),
      params(),
    );
  });
});
