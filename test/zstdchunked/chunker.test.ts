import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ChunkEvent, FileChunker } from "../../src/formats/zstdchunked/chunker.js";
import { RollSum } from "../../src/formats/zstdchunked/rollsum.js";

/** The spec §1.3 reference input: LCG x = x*1103515245 + 12345 (uint32), byte = (x >> 16) & 0xff. */
function lcgBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = 1;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = (x >>> 16) & 0xff;
  }
  return out;
}

/** Chunk a payload fed in pieces of `piece` bytes; returns [size, zeros] per non-empty chunk. */
function chunkSizes(data: Buffer, piece: number): Array<[number, boolean]> {
  const c = new FileChunker();
  const events: ChunkEvent[] = [];
  for (let i = 0; i < data.length; i += piece) events.push(...c.push(data.subarray(i, i + piece)));
  events.push(...c.finish());
  const out: Array<[number, boolean]> = [];
  let cur = 0;
  const rebuilt: Buffer[] = [];
  for (const e of events) {
    if (e.type === "data") {
      cur += e.data.length;
      rebuilt.push(Buffer.from(e.data));
    } else if (e.type === "cut") {
      if (cur > 0) out.push([cur, false]);
      cur = 0;
    } else {
      assert.equal(cur, 0, "hole must follow a cut");
      out.push([e.length, true]);
      rebuilt.push(Buffer.alloc(e.length));
    }
  }
  assert.equal(cur, 0);
  assert.ok(Buffer.concat(rebuilt).equals(data), "events reproduce the payload");
  return out;
}

describe("rollsum and chunker", () => {
  const data = lcgBytes(1 << 20);

  it("matches the reference split points and final state (spec §1.3)", () => {
    const rs = new RollSum();
    const splits: number[] = [];
    for (let i = 0; i < data.length; i++) {
      rs.roll(data[i]!);
      if (rs.onSplit()) splits.push(i + 1);
    }
    assert.equal(splits.length, 23);
    assert.deepEqual(
      splits.slice(0, 10),
      [49253, 114509, 155640, 167603, 245388, 263526, 338700, 374605, 449753, 450713],
    );
    assert.equal(rs.s1, 10189);
    assert.equal(rs.s2, 390885);
  });

  it("chunker cuts at the same points whatever the input piece size", () => {
    const a = chunkSizes(data, 4096);
    const b = chunkSizes(data, 777);
    const c = chunkSizes(data, data.length);
    assert.equal(a.length, 24);
    assert.equal(a[0]![0], 49253);
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
  });

  it("rollZeros equals rolling zeros one by one", () => {
    for (const n of [1, 63, 64, 65, 1024, 100_000]) {
      const a = new RollSum();
      const b = new RollSum();
      for (const x of data.subarray(0, 300)) {
        a.roll(x);
        b.roll(x);
      }
      a.rollZeros(n);
      for (let i = 0; i < n; i++) b.roll(0);
      for (const x of data.subarray(300, 400)) {
        a.roll(x);
        b.roll(x);
      }
      assert.deepEqual([a.s1, a.s2], [b.s1, b.s2], `n=${n}`);
    }
  });

  it("makes zeros chunks of runs >= 1024 bytes, keeps shorter runs as data", () => {
    const payload = Buffer.concat([
      Buffer.from("abc"),
      Buffer.alloc(1023),
      Buffer.from("d"),
      Buffer.alloc(1024),
      Buffer.from("e"),
      Buffer.alloc(5000),
    ]);
    for (const piece of [1, 100, 4096]) {
      assert.deepEqual(chunkSizes(payload, piece), [
        [3 + 1023 + 1, false],
        [1024, true],
        [1, false],
        [5000, true],
      ]);
    }
    assert.deepEqual(chunkSizes(Buffer.alloc(2048), 500), [[2048, true]]);
  });

  it("cuts identically for any piece size on data mixed with zero runs", () => {
    const parts: Buffer[] = [];
    let x = 7;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    for (let i = 0; i < 300; i++) {
      const off = rnd(900_000);
      parts.push(data.subarray(off, off + rnd(5000)));
      parts.push(Buffer.alloc(rnd(3000)));
    }
    const mixed = Buffer.concat(parts);
    const whole = chunkSizes(mixed, mixed.length);
    assert.ok(whole.some(([, z]) => z) && whole.some(([, z]) => !z));
    for (const piece of [5, 1000, 4096]) assert.deepEqual(chunkSizes(mixed, piece), whole);
  });
});
