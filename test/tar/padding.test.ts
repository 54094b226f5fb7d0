import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { digestOf } from "../../src/digest.js";
import { PaddedTarHash, paddingCandidates, RECORD_SIZE } from "../../src/formats/tar/padding.js";
import { readVector } from "../helpers/vectors.js";

function hashed(data: Buffer): PaddedTarHash {
  const h = new PaddedTarHash();
  // In pieces, as a rebuild hands them out.
  for (let i = 0; i < data.length; i += 700) h.update(data.subarray(i, i + 700));
  return h;
}

/** Where the bytes of a tar end before its trailing zeros. */
function contentEnd(tar: Buffer): number {
  let end = tar.length;
  while (end > 0 && tar[end - 1] === 0) end--;
  return Math.ceil(end / 512) * 512;
}

describe("trailing tar padding recovered from the diff_id", () => {
  const gnu = readVector("gnutar", "input.tar"); // GNU tar: padded to a 10240-byte record

  test("candidates: up to the record, the end marker alone, the end marker and the record", () => {
    assert.deepEqual(paddingCandidates(12800), [1024, 7680]);
    assert.deepEqual(paddingCandidates(10240), [1024, 10240]);
    assert.deepEqual(paddingCandidates(10000), [240, 1264, 10480]);
    for (const n of [1, 511, 512, 9999, 10240, 123456])
      for (const c of paddingCandidates(n))
        assert.ok(c > 0 && c <= RECORD_SIZE + 1024, `${n}: ${c}`);
  });

  test("a GNU tar cut after its last entry, with or without its end marker, is recovered", () => {
    const diffId = digestOf(gnu);
    assert.equal(gnu.length % RECORD_SIZE, 0);
    const end = contentEnd(gnu);
    for (const cut of [end, end + 1024]) {
      const h = hashed(gnu.subarray(0, cut));
      assert.notEqual(h.digest(), diffId);
      assert.equal(h.paddingFor(diffId), gnu.length - cut, `cut at ${cut}`);
      assert.equal(h.length, cut);
    }
  });

  test("a Go-style tar (end marker, no record padding) cut after its last entry is recovered", () => {
    const end = contentEnd(gnu);
    const goStyle = Buffer.concat([gnu.subarray(0, end), Buffer.alloc(1024)]);
    assert.equal(hashed(gnu.subarray(0, end)).paddingFor(digestOf(goStyle)), 1024);
  });

  test("nothing else is accepted: other content, other lengths, other algorithms", () => {
    const end = contentEnd(gnu);
    const h = hashed(gnu.subarray(0, end));
    const changed = Buffer.from(gnu);
    changed[100] = changed[100]! ^ 1;
    assert.equal(h.paddingFor(digestOf(changed)), undefined);
    assert.equal(h.paddingFor(digestOf(Buffer.concat([gnu, Buffer.alloc(512)]))), undefined);
    assert.equal(h.paddingFor(digestOf(gnu, "sha512")), undefined);
  });
});
