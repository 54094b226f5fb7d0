import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Crc64, crc64 } from "../../src/formats/tarsplit/crc64.js";

/** Bit-at-a-time reference (BigInt), independent of the table code under test. */
function slowCrc64(data: Uint8Array): Buffer {
  const poly = 0xd800000000000000n;
  const mask = 0xffffffffffffffffn;
  let crc = mask;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let i = 0; i < 8; i++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  crc ^= mask;
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(crc);
  return out;
}

test("crc64 check values from Go hash/crc64 (ISO table)", () => {
  assert.equal(crc64(Buffer.from("123456789")).toString("hex"), "b90956c775a41001");
  assert.equal(crc64(Buffer.from("hello\n")).toString("base64"), "YUw+7uLYEAA=");
  assert.equal(crc64(Buffer.alloc(0)).toString("base64"), "AAAAAAAAAAA=");
});

test("crc64 matches a bitwise reference for many lengths", () => {
  for (const len of [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4099]) {
    const data = randomBytes(len);
    assert.deepEqual(crc64(data), slowCrc64(data), `length ${len}`);
  }
});

test("Crc64 is independent of how the input is split", () => {
  const data = randomBytes(10_000);
  const whole = crc64(data);
  for (const step of [1, 3, 7, 8, 13, 512, 4096]) {
    const c = new Crc64();
    for (let i = 0; i < data.length; i += step) c.update(data.subarray(i, i + step));
    assert.deepEqual(c.digest(), whole, `step ${step}`);
  }
});

test("crc64 throughput is reported", () => {
  const data = randomBytes(32 * 1024 * 1024);
  const t0 = process.hrtime.bigint();
  crc64(data);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const mbps = 32 / (ms / 1000);
  console.log(`crc64: ${mbps.toFixed(0)} MB/s`);
  // Loose bound (shared CI machines): it only catches an accidental bit-at-a-time or BigInt path.
  assert.ok(mbps > 30, `crc64 too slow: ${mbps} MB/s`);
});
