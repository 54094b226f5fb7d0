import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cleanAbsPath, confinedPath } from "../../src/formats/zstdchunked/path.js";
import {
  formatRfc3339Nano,
  parseRfc3339,
  sameInstant,
} from "../../src/formats/zstdchunked/time.js";

describe("RFC 3339 times with nanoseconds", () => {
  it("parses zones and fractions to the same instant Date computes", () => {
    for (const s of [
      "2023-06-01T14:51:55+02:00",
      "1969-12-31T23:59:59Z",
      "0001-01-01T00:00:00Z",
      "2400-02-29T12:00:00-07:30",
    ]) {
      const t = parseRfc3339(s, "t");
      assert.equal(t.sec * 1000, Date.parse(s), s);
      assert.equal(t.nsec, 0);
    }
    assert.deepEqual(parseRfc3339("2023-11-14T22:13:20.123456789Z", "t"), {
      sec: 1700000000,
      nsec: 123456789,
    });
    assert.deepEqual(parseRfc3339("2023-11-14T22:13:20.1234567891Z", "t").nsec, 123456789);
    assert.deepEqual(parseRfc3339("1969-12-31T23:59:59.5Z", "t"), { sec: -1, nsec: 500000000 });
  });

  it("rejects malformed times", () => {
    for (const s of [
      "2023-02-29T00:00:00Z",
      "2023-01-01 00:00:00Z",
      "2023-01-01T24:00:00Z",
      "2023-01-01T00:00:00",
      "2023-01-01T00:00:60Z",
      "2023-01-01T00:00:00+2:00",
    ]) {
      assert.throws(() => parseRfc3339(s, "t"), /t:/, s);
    }
  });

  it("formats like Go RFC3339Nano in UTC", () => {
    assert.equal(formatRfc3339Nano({ sec: 1700000000, nsec: 0 }), "2023-11-14T22:13:20Z");
    assert.equal(
      formatRfc3339Nano({ sec: 1700000000, nsec: 120000000 }),
      "2023-11-14T22:13:20.12Z",
    );
    assert.equal(formatRfc3339Nano({ sec: -1, nsec: 1 }), "1969-12-31T23:59:59.000000001Z");
    assert.equal(
      formatRfc3339Nano({ sec: 2 ** 33, nsec: 0 }),
      new Date(2 ** 33 * 1000).toISOString().replace(".000", ""),
    );
    assert.throws(() => formatRfc3339Nano({ sec: 300000000000, nsec: 0 }), /0-9999/);
  });

  it("treats unset, Go-zero and epoch-0 as equal, like ensureTOCMatchesTarSplit", () => {
    const goZero = parseRfc3339("0001-01-01T00:00:00Z", "t");
    assert.ok(sameInstant(undefined, goZero));
    assert.ok(sameInstant({ sec: 0, nsec: 0 }, undefined));
    assert.ok(!sameInstant({ sec: 0, nsec: 1 }, undefined));
    assert.ok(
      sameInstant(
        parseRfc3339("2023-06-01T14:51:55+02:00", "t"),
        parseRfc3339("2023-06-01T12:51:55Z", "t"),
      ),
    );
  });
});

describe("paths", () => {
  it('cleans like Go filepath.Clean("/" + name)', () => {
    const cases: Array<[string, string]> = [
      ["", "/"],
      [".", "/"],
      ["./", "/"],
      ["a//b/./c/", "/a/b/c"],
      ["/abs", "/abs"],
      ["a/../b", "/b"],
      ["../x", "/x"],
    ];
    for (const [i, o] of cases) assert.equal(cleanAbsPath(i), o, i);
  });
  it("refuses names escaping the root or holding NUL", () => {
    assert.equal(confinedPath("a/../b", "n"), "/b");
    assert.throws(() => confinedPath("a/../../b", "n"), /escapes/);
    assert.throws(() => confinedPath("a\0b", "n"), /NUL/);
  });
});
