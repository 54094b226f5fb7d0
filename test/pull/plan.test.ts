import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Digest, digestOf } from "../../src/digest.js";
import { FormatError, UsageError } from "../../src/errors.js";
import type { ChunkRef, FileRef } from "../../src/formats/layer-index.js";
import { type Plan, planLayer, splitForRequests } from "../../src/pull/plan.js";

const d = (label: string): Digest => digestOf(Buffer.from(label));

/** A chunk of `len` compressed bytes at blob offset `at`, holding `size` file bytes. */
function chunk(
  at: number,
  len: number,
  fileOffset: number,
  size: number,
  label?: string,
): ChunkRef {
  const c: ChunkRef = { offset: at, end: at + len, fileOffset, size, zeros: false };
  if (label) c.digest = d(label);
  return c;
}

function file(name: string, chunks: ChunkRef[], label = name): FileRef {
  const size = chunks.reduce((m, c) => Math.max(m, c.fileOffset + c.size), 0);
  return { name, size, digest: d(`file:${label}`), chunks };
}

/** Invariants every plan must hold, checked against the input rather than the planner. */
function checkInvariants(plan: Plan): void {
  let prevEnd = -1;
  for (const r of plan.ranges) {
    assert.ok(r.length > 0);
    assert.ok(r.offset > prevEnd, "ranges sorted and non-overlapping");
    prevEnd = r.offset + r.length - 1;
    for (const c of r.chunks) {
      assert.ok(c.chunk.offset >= r.offset && c.chunk.end <= r.offset + r.length, "chunk in range");
    }
  }
  const sum = plan.ranges.reduce((s, r) => s + r.length, 0);
  assert.equal(plan.totals.bytesToFetch, sum);
  assert.equal(plan.totals.rangeCount, plan.ranges.length);
  assert.equal(plan.remoteChunks.length, plan.totals.remoteChunks);
}

describe("planLayer", () => {
  const a = file("a", [chunk(0, 100, 0, 400, "a0"), chunk(100, 50, 400, 200, "a1")]);
  const b = file("b", [chunk(5000, 70, 0, 300, "b0")]);

  it("takes everything from the store when all files are present", () => {
    const plan = planLayer([a, b], new Set([a.digest, b.digest]), new Set());
    checkInvariants(plan);
    assert.deepEqual(
      plan.files.map((f) => f.source),
      ["store", "store"],
    );
    assert.equal(plan.ranges.length, 0);
    assert.equal(plan.totals.filesFromStore, 2);
    assert.equal(plan.totals.bytesToFetch, 0);
    assert.equal(plan.totals.payloadBytes, 220);
    assert.equal(plan.totals.bytesSaved, 220);
  });

  it("takes chunks from the store when only chunk pointers exist", () => {
    const plan = planLayer([a, b], new Set(), new Set([d("a0"), d("a1"), d("b0")]));
    assert.equal(plan.ranges.length, 0);
    assert.equal(plan.totals.chunksFromStore, 3);
  });

  it("fetches everything when nothing is local, merging small gaps", () => {
    const plan = planLayer([a, b], new Set(), new Set());
    checkInvariants(plan);
    assert.deepEqual(
      plan.ranges.map((r) => [r.offset, r.length, r.chunks.length]),
      [
        [0, 150, 2],
        [5000, 70, 1],
      ],
    );
    assert.equal(plan.totals.idealBytes, 220);
    assert.equal(plan.totals.bytesToFetch, 220);
    assert.equal(plan.totals.remoteChunks, 3);
    assert.equal(plan.ranges[1]!.chunks[0]!.file, b);
  });

  it("never fetches zero chunks", () => {
    const z: ChunkRef = { offset: 100, end: 120, fileOffset: 1000, size: 1 << 20, zeros: true };
    const f = file("sparse", [
      chunk(0, 100, 0, 1000, "s0"),
      z,
      chunk(3000, 10, 1000 + (1 << 20), 5, "s2"),
    ]);
    const plan = planLayer([f], new Set(), new Set());
    checkInvariants(plan);
    assert.equal(plan.totals.zeroChunks, 1);
    assert.deepEqual(
      plan.files[0]!.chunks.map((c) => c.source),
      ["remote", "zeros", "remote"],
    );
    assert.ok(plan.remoteChunks.every((c) => !c.chunk.zeros));
    // The zeros frame lies inside the merged range, but is not one of its chunks.
    assert.deepEqual(
      plan.ranges.map((r) => [r.offset, r.length]),
      [
        [0, 100],
        [3000, 10],
      ],
    );
  });

  it("merges gaps of exactly 1024 bytes and keeps gaps of 1025", () => {
    const f = file("g", [
      chunk(0, 10, 0, 10, "g0"),
      chunk(10 + 1024, 10, 10, 10, "g1"),
      chunk(10 + 1024 + 10 + 1025, 10, 20, 10, "g2"),
    ]);
    const plan = planLayer([f], new Set(), new Set());
    checkInvariants(plan);
    assert.deepEqual(
      plan.ranges.map((r) => [r.offset, r.length]),
      [
        [0, 1044],
        [2069, 10],
      ],
    );
    assert.equal(plan.totals.idealBytes, 30);
    assert.equal(plan.totals.bytesToFetch, 1054);
  });

  it("honours a custom alwaysMergeGap", () => {
    const f = file("g", [chunk(0, 10, 0, 10, "g0"), chunk(20, 10, 10, 10, "g1")]);
    assert.equal(planLayer([f], new Set(), new Set(), { alwaysMergeGap: 9 }).ranges.length, 2);
    assert.equal(planLayer([f], new Set(), new Set(), { alwaysMergeGap: 10 }).ranges.length, 1);
  });

  it("merges the cheapest gaps when over the cap", () => {
    // Gaps between consecutive chunks: 5000, 2000, 9000, 3000 (all above the auto-merge size).
    const offsets = [0, 5010, 7020, 16030, 19040];
    const f = file(
      "cap",
      offsets.map((o, i) => chunk(o, 10, i * 10, 10, `cap${i}`)),
    );
    const plan = planLayer([f], new Set(), new Set(), { maxRanges: 3 });
    checkInvariants(plan);
    // Cheapest two gaps are 2000 (between 1 and 2) and 3000 (between 3 and 4).
    assert.deepEqual(
      plan.ranges.map((r) => [r.offset, r.offset + r.length]),
      [
        [0, 10],
        [5010, 7030],
        [16030, 19050],
      ],
    );
    assert.equal(plan.totals.idealBytes, 50);
    assert.equal(plan.totals.bytesToFetch, 10 + 2020 + 3020);
    const one = planLayer([f], new Set(), new Set(), { maxRanges: 1 });
    assert.deepEqual(
      one.ranges.map((r) => [r.offset, r.length, r.chunks.length]),
      [[0, 19050, 5]],
    );
    const plenty = planLayer([f], new Set(), new Set(), { maxRanges: 5 });
    assert.equal(plenty.ranges.length, 5);
  });

  it("never exceeds the cap with many ranges and ties", () => {
    const chunks = Array.from({ length: 3000 }, (_, i) => chunk(i * 2000, 10, i * 10, 10, `t${i}`));
    const plan = planLayer([file("many", chunks)], new Set(), new Set(), { maxRanges: 1023 });
    checkInvariants(plan);
    assert.equal(plan.ranges.length, 1023);
    assert.equal(plan.remoteChunks.length, 3000);
  });

  it("plans a file whose chunks are partly in the store", () => {
    const f = file("part", [
      chunk(0, 100, 0, 100, "p0"),
      chunk(100, 100, 100, 100, "p1"),
      chunk(5000, 100, 200, 100, "p2"),
      chunk(10000, 100, 300, 100, "p3"),
    ]);
    const plan = planLayer([f], new Set(), new Set([d("p1"), d("p3")]));
    checkInvariants(plan);
    assert.deepEqual(
      plan.files[0]!.chunks.map((c) => c.source),
      ["remote", "store", "remote", "store"],
    );
    assert.deepEqual(
      plan.ranges.map((r) => [r.offset, r.length]),
      [
        [0, 100],
        [5000, 100],
      ],
    );
    assert.equal(plan.totals.chunksFromStore, 2);
    assert.equal(plan.totals.payloadBytes, 400);
    assert.equal(plan.totals.bytesSaved, 200);
  });

  it("fetches a chunk digest repeated within the layer once", () => {
    const x = file("x", [chunk(0, 100, 0, 100, "shared"), chunk(2000, 100, 100, 100, "x1")]);
    const y = file("y", [chunk(9000, 100, 0, 100, "y0"), chunk(12000, 100, 100, 100, "shared")]);
    const plan = planLayer([x, y], new Set(), new Set());
    checkInvariants(plan);
    assert.equal(plan.totals.remoteChunks, 3);
    assert.equal(plan.totals.duplicateChunks, 1);
    const dup = plan.files[1]!.chunks[1]!;
    assert.equal(dup.source, "duplicate");
    assert.deepEqual(dup.duplicateOf, { fileIndex: 0, chunkIndex: 0 });
    assert.ok(!plan.ranges.some((r) => r.offset <= 12000 && 12000 < r.offset + r.length));
  });

  it("fetches a file repeated within the layer once", () => {
    const one = file("one", [chunk(0, 100, 0, 100)], "same");
    const two = file("two", [chunk(5000, 100, 0, 100)], "same");
    const plan = planLayer([one, two], new Set(), new Set());
    assert.deepEqual(
      plan.files.map((f) => [f.source, f.duplicateOf]),
      [
        ["chunks", undefined],
        ["duplicate", 0],
      ],
    );
    assert.equal(plan.ranges.length, 1);
  });

  it("looks up single-chunk files without a chunk digest by their file digest", () => {
    const f = file("single", [chunk(0, 100, 0, 100)]);
    const plan = planLayer([f], new Set(), new Set([f.digest]));
    assert.equal(plan.files[0]!.chunks[0]!.source, "store");
    assert.equal(plan.ranges.length, 0);
  });

  it("merges chunks that share blob bytes into one range", () => {
    const f = file("m", [chunk(0, 100, 0, 10, "m0"), chunk(0, 100, 10, 10, "m1")]);
    const plan = planLayer([f], new Set(), new Set());
    checkInvariants(plan);
    assert.deepEqual(
      plan.ranges.map((r) => [r.offset, r.length, r.chunks.length]),
      [[0, 100, 2]],
    );
    assert.equal(plan.totals.idealBytes, 100);
  });

  it("rejects impossible chunks and options", () => {
    const bad = file("bad", [chunk(10, 0, 0, 5, "b")]);
    assert.throws(() => planLayer([bad], new Set(), new Set()), FormatError);
    const f = file("f", [chunk(10, 10, 0, 5, "f")]);
    assert.throws(
      () => planLayer([f], new Set(), new Set(), { blobSize: 15 }),
      /past blob size 15/,
    );
    assert.throws(() => planLayer([f], new Set(), new Set(), { maxRanges: 0 }), UsageError);
    const past: FileRef = { ...f, size: 3 };
    assert.throws(() => planLayer([past], new Set(), new Set()), /past size 3/);
  });
});

describe("splitForRequests", () => {
  it("batches ranges in order", () => {
    const chunks = Array.from({ length: 7 }, (_, i) => chunk(i * 5000, 10, i * 10, 10, `s${i}`));
    const plan = planLayer([file("s", chunks)], new Set(), new Set());
    const batches = splitForRequests(plan, 3);
    assert.deepEqual(
      batches.map((b) => b.length),
      [3, 3, 1],
    );
    assert.deepEqual(batches.flat(), plan.ranges);
    assert.throws(() => splitForRequests(plan, 0), UsageError);
  });
});
