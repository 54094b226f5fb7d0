import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
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

  it("accepts and rejects exactly what the RFC 3339 grammar does (hand scanner vs regex)", () => {
    // The reference: the regular expression the scanner replaced, with the same range rules.
    const re =
      /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/;
    const reference = (s: string): string => {
      const m = re.exec(s);
      if (!m) return "invalid";
      const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as number[];
      const leap = (y! % 4 === 0 && y! % 100 !== 0) || y! % 400 === 0;
      const dim = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo! - 1] ?? 0;
      if (mo! < 1 || mo! > 12 || d! < 1 || d! > dim || h! > 23 || mi! > 59 || se! > 59)
        return "range";
      if (m[8] !== "Z" && (Number(m[10]) > 23 || Number(m[11]) > 59)) return "zone";
      const off =
        m[8] === "Z" ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 3600 + Number(m[11]) * 60);
      const nsec = m[7] === undefined ? 0 : Number(m[7].slice(0, 9).padEnd(9, "0"));
      const sec = Date.UTC(y!, mo! - 1, d!, h!, mi!, se!) / 1000 - off;
      return y! < 100 ? `nsec ${nsec}` : `${sec} ${nsec}`; // Date.UTC maps years 0-99 to 19xx
    };
    const actual = (s: string): string => {
      try {
        const t = parseRfc3339(s, "t");
        const y = Number(s.slice(0, 4));
        return y < 100 ? `nsec ${t.nsec}` : `${t.sec} ${t.nsec}`;
      } catch (e) {
        const msg = (e as Error).message;
        return msg.includes("out of range") ? "range" : msg.includes("zone") ? "zone" : "invalid";
      }
    };
    const d = (n: number) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`));
    const near = fc
      .tuple(
        d(4),
        d(2),
        d(2),
        d(2),
        d(2),
        d(2),
        fc.option(fc.stringMatching(/^[0-9]{0,12}$/)),
        fc.constantFrom("Z", "+", "-", "z", ""),
        d(2),
        d(2),
        fc.constantFrom("-", "T", ":", "x", " "),
        fc.string({ maxLength: 2 }),
      )
      .map(([y, mo, dd, h, mi, se, frac, z, zh, zm, sep, tail]) => {
        const zone = z === "+" || z === "-" ? `${z}${zh}:${zm}` : z;
        const base = `${y}-${mo}-${dd}${sep === "-" ? "T" : sep}${h}:${mi}:${se}`;
        return `${base}${frac === null ? "" : `.${frac}`}${zone}${tail.length === 1 ? tail : ""}`;
      });
    fc.assert(
      fc.property(fc.oneof(near, fc.string({ maxLength: 40 })), (s) => {
        assert.equal(actual(s), reference(s), s);
      }),
      { numRuns: 5000 },
    );
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
