/** Go parseRange / multipart layout as pure functions (no docker-registry needed). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  closingDelimiter,
  multipartSize,
  parseRange,
  partPreamble,
  randomBoundary,
  sumRangesSize,
} from "../../mock-registry/src/ranges.js";

describe("parseRange (Go net/http semantics)", () => {
  test("single, open, suffix, clamped, dropped past EOF", () => {
    assert.deepEqual(parseRange("bytes=0-9", 100), {
      kind: "ranges",
      ranges: [{ start: 0, length: 10 }],
    });
    assert.deepEqual(parseRange("bytes=90-", 100), {
      kind: "ranges",
      ranges: [{ start: 90, length: 10 }],
    });
    assert.deepEqual(parseRange("bytes=-30", 100), {
      kind: "ranges",
      ranges: [{ start: 70, length: 30 }],
    });
    assert.deepEqual(parseRange("bytes=-300", 100), {
      kind: "ranges",
      ranges: [{ start: 0, length: 100 }],
    });
    assert.deepEqual(parseRange("bytes=95-200", 100), {
      kind: "ranges",
      ranges: [{ start: 95, length: 5 }],
    });
    assert.deepEqual(parseRange("bytes=0-1,100-,5-5", 100), {
      kind: "ranges",
      ranges: [
        { start: 0, length: 2 },
        { start: 5, length: 1 },
      ],
    });
    assert.deepEqual(parseRange("bytes=-0", 100), {
      kind: "ranges",
      ranges: [{ start: 100, length: 0 }],
    });
    assert.deepEqual(parseRange(" bytes=0-1", 100), { kind: "invalid" });
    assert.deepEqual(parseRange("bytes= 1 - 2 ,,", 100), {
      kind: "ranges",
      ranges: [{ start: 1, length: 2 }],
    });
  });

  test("no header, no overlap, invalid", () => {
    assert.deepEqual(parseRange(undefined, 10), { kind: "none" });
    assert.deepEqual(parseRange("", 10), { kind: "none" });
    assert.deepEqual(parseRange("bytes=10-", 10), { kind: "no-overlap" });
    assert.deepEqual(parseRange("bytes=10-20,30-", 10), { kind: "no-overlap" });
    for (const bad of [
      "bytes=5-2",
      "bytes=a-",
      "bytes=-",
      "bytes=--5",
      "bytes=1",
      "octets=0-1",
      "bytes=0-1,x",
    ]) {
      assert.deepEqual(parseRange(bad, 10), { kind: "invalid" }, bad);
    }
    assert.deepEqual(parseRange("bytes=+1-+2", 10), {
      kind: "ranges",
      ranges: [{ start: 1, length: 2 }],
    });
    assert.deepEqual(
      parseRange("bytes=99999999999999999999-", 10),
      { kind: "invalid" },
      "int64 overflow",
    );
  });

  test("sumRangesSize counts overlaps twice (Go's > size rule)", () => {
    const r = parseRange("bytes=0-59,40-99", 100);
    assert.equal(r.kind, "ranges");
    if (r.kind === "ranges") assert.equal(sumRangesSize(r.ranges), 120);
  });

  test("multipartSize equals the bytes the layout produces", () => {
    const b = randomBoundary();
    assert.match(b, /^[0-9a-f]{60}$/);
    const ranges = [
      { start: 0, length: 10 },
      { start: 500, length: 123 },
      { start: 0, length: 1 },
    ];
    let body = "";
    ranges.forEach((r, i) => {
      body += partPreamble(b, i, r, 1000, "application/octet-stream") + "x".repeat(r.length);
    });
    body += closingDelimiter(b);
    assert.equal(
      multipartSize(b, ranges, 1000, "application/octet-stream"),
      Buffer.byteLength(body),
    );
    assert.ok(
      body.startsWith(
        `--${b}\r\nContent-Range: bytes 0-9/1000\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
    );
    assert.ok(body.includes(`\r\n--${b}\r\nContent-Range: bytes 500-622/1000\r\n`));
    assert.ok(body.endsWith(`\r\n--${b}--\r\n`));
  });
});
