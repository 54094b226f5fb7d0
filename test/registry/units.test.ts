import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseChallenges, repositoryScope } from "../../src/registry/auth/challenge.js";
import { CapabilityStore } from "../../src/registry/capabilities.js";
import { RangeNotSatisfiableError } from "../../src/registry/errors.js";
import { RangeCollector } from "../../src/registry/range-collector.js";
import { validateRanges } from "../../src/registry/ranges.js";
import {
  backoffDelay,
  isRetryableNetworkError,
  parseRetryAfter,
} from "../../src/registry/retry.js";
import { parseErrorBody } from "../../src/registry/status-errors.js";

describe("WWW-Authenticate parsing", () => {
  it("parses a bearer challenge with quoted commas and several scopes", () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"',
    );
    assert.equal(c!.scheme, "bearer");
    assert.equal(c!.params.realm, "https://auth.example.com/token");
    assert.equal(c!.params.service, "registry.example.com");
    assert.equal(c!.params.scope, "repository:a/b:pull,push repository:c:pull");
    assert.equal(c!.params.error, "insufficient_scope");
  });

  it("parses several challenges, escapes, unquoted values and header arrays", () => {
    const cs = parseChallenges([
      'Basic realm="a \\"quoted\\" realm", charset=UTF-8',
      "Bearer realm=https://x/token , service=x",
    ]);
    assert.equal(cs.length, 2);
    assert.equal(cs[0]!.scheme, "basic");
    assert.equal(cs[0]!.params.realm, 'a "quoted" realm');
    assert.equal(cs[0]!.params.charset, "UTF-8");
    assert.equal(cs[1]!.params.realm, "https://x/token");
    assert.equal(cs[1]!.params.service, "x");
    const two = parseChallenges('Negotiate, Bearer realm="r"');
    assert.deepEqual(
      two.map((c) => c.scheme),
      ["negotiate", "bearer"],
    );
    assert.deepEqual(parseChallenges(undefined), []);
  });

  it("builds repository scopes", () => {
    assert.equal(repositoryScope("library/alpine"), "repository:library/alpine:pull");
    assert.equal(repositoryScope("a", ["pull", "push"]), "repository:a:pull,push");
  });
});

describe("retry helpers", () => {
  it("parses Retry-After seconds and HTTP-date", () => {
    assert.equal(parseRetryAfter("3"), 3000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
    assert.equal(parseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon"), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });

  it("backs off exponentially with jitter inside [step/2, step]", () => {
    const o = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(0, { ...o, random: () => 0 }), 50);
    assert.equal(backoffDelay(0, { ...o, random: () => 1 }), 100);
    assert.equal(backoffDelay(3, { ...o, random: () => 1 }), 800);
    assert.equal(backoffDelay(10, { ...o, random: () => 1 }), 1000);
  });

  it("classifies network errors", () => {
    assert.ok(isRetryableNetworkError(Object.assign(new Error("x"), { code: "ECONNRESET" })));
    assert.ok(
      isRetryableNetworkError(
        new Error("wrapped", { cause: Object.assign(new Error("y"), { code: "UND_ERR_SOCKET" }) }),
      ),
    );
    assert.ok(!isRetryableNetworkError(Object.assign(new Error("a"), { name: "AbortError" })));
    assert.ok(!isRetryableNetworkError(new Error("nope")));
  });

  it("parses error bodies leniently", () => {
    assert.deepEqual(
      parseErrorBody(Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"m"}]}')),
      { codes: ["MANIFEST_UNKNOWN"], messages: ["m"] },
    );
    assert.deepEqual(parseErrorBody(Buffer.from('{"message":"toomanyrequests: x"}')), {
      codes: [],
      messages: ["toomanyrequests: x"],
    });
    assert.deepEqual(parseErrorBody(Buffer.from("plain text")), {
      codes: [],
      messages: ["plain text"],
    });
  });
});

describe("range validation and collection", () => {
  it("enforces sorted, disjoint, in-bounds ranges", () => {
    validateRanges(
      [
        { offset: 0, length: 10 },
        { offset: 10, length: 0 },
        { offset: 10, length: 5 },
      ],
      15,
      "b",
    );
    const bad: Array<[Array<{ offset: number; length: number }>, RegExp]> = [
      [
        [
          { offset: 5, length: 5 },
          { offset: 0, length: 1 },
        ],
        /sorted/,
      ],
      [
        [
          { offset: 0, length: 5 },
          { offset: 4, length: 1 },
        ],
        /overlaps/,
      ],
      [[{ offset: 10, length: 6 }], /past the blob size 15/],
      [[{ offset: -1, length: 1 }], /non-negative/],
      [[{ offset: 0.5, length: 1 }], /non-negative integers/],
    ];
    for (const [ranges, re] of bad) {
      assert.throws(
        () => validateRanges(ranges, 15, "blob x"),
        (e: unknown) => e instanceof RangeNotSatisfiableError && re.test(e.message),
      );
    }
  });

  it("copies a contiguous stream into the contained ranges, chunk boundaries anywhere", () => {
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    for (const step of [1, 3, 17, 100]) {
      const c = new RangeCollector(10, [
        { index: 0, range: { offset: 10, length: 5 } },
        { index: 3, range: { offset: 40, length: 30 } },
      ]);
      const done: number[] = [];
      const bufs = new Map<number, Buffer>();
      for (let i = 10; i < 100; i += step) {
        for (const t of c.write(data.subarray(i, Math.min(100, i + step)))) {
          done.push(t.index);
          bufs.set(t.index, t.buf);
        }
      }
      assert.deepEqual(done, [0, 3]);
      assert.deepEqual(bufs.get(0), data.subarray(10, 15));
      assert.deepEqual(bufs.get(3), data.subarray(40, 70));
      assert.ok(c.complete);
    }
  });

  it("remembers capabilities per origin and halves down to single ranges", () => {
    const s = new CapabilityStore(64);
    assert.deepEqual(s.get("a"), { mode: "multi", maxRanges: 64 });
    assert.deepEqual(s.refuseMulti("a", 64), { mode: "multi", maxRanges: 32 });
    assert.deepEqual(s.refuseMulti("a", 3), { mode: "single", maxRanges: 1 });
    assert.deepEqual(s.get("b"), { mode: "multi", maxRanges: 64 });
    s.ignoresRange("b");
    assert.equal(s.get("b").mode, "none");
    s.singleOnly("b");
    assert.equal(s.get("b").mode, "none");
  });
});
