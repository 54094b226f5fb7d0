import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { batchRanges, FIRST_BATCH_RANGES } from "../../src/pull/batches.js";
import type { PlannedRange } from "../../src/pull/plan.js";

/** `n` one-chunk ranges of `size` bytes, 1000 bytes apart. */
function ranges(n: number, size: number): PlannedRange[] {
  return Array.from({ length: n }, (_, i) => ({
    offset: i * (size + 1000),
    length: size,
    chunks: [],
  }));
}

describe("request batches", () => {
  it("ramp up in ranges per request to the cap, in order, nothing lost", () => {
    const rs = ranges(302, 10_000);
    const batches = batchRanges(rs, 16 << 20, 4 << 20, 64);
    assert.deepEqual(
      batches.map((b) => b.length),
      [FIRST_BATCH_RANGES, 16, 32, 64, 64, 64, 54],
    );
    assert.deepEqual(batches.flat(), rs);
  });

  it("still split by bytes first, each byte group ramped on", () => {
    const rs = ranges(40, 1 << 20);
    const batches = batchRanges(rs, 16 << 20, 4 << 20, 64);
    for (const b of batches) assert.ok(b.reduce((n, r) => n + r.length, 0) <= 16 << 20);
    assert.deepEqual(
      batches.map((b) => b.length),
      [8, 8, 16, 8],
    );
    assert.deepEqual(batches.flat(), rs);
  });

  it("without a cap, only the first requests are small", () => {
    const batches = batchRanges(ranges(1000, 100), 16 << 20);
    assert.deepEqual(
      batches.slice(0, 4).map((b) => b.length),
      [8, 16, 32, 64],
    );
    assert.equal(batches.flat().length, 1000);
  });
});
