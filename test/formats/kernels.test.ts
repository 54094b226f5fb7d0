/**
 * The WebAssembly kernels (CRC-64, rolling checksum) against their JavaScript references, and
 * the shipped module against its .wat source.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { compileKernels } from "../../bench/build-wasm.js";
import { binaryContent, rng, textContent } from "../../mock-registry/src/image/sample-app.js";
import { wasmKernels } from "../../src/formats/kernels/index.js";
import { KERNELS_WASM_BASE64 } from "../../src/formats/kernels/kernels-wasm.js";
import { Crc64, WASM_MIN } from "../../src/formats/tarsplit/crc64.js";
import { CHUNKER_WASM_MIN, FileChunker } from "../../src/formats/zstdchunked/chunker.js";

function crcHex(data: Uint8Array, wasm: boolean, piece = data.length || 1): string {
  const c = new Crc64(wasm);
  for (let i = 0; i < data.length; i += piece) c.update(data.subarray(i, i + piece));
  return c.digest().toString("hex");
}

/** The chunk stream as a list: data chunks by length and hash, holes by length. */
function chunkList(pieces: Buffer[], wasm: boolean): string[] {
  const c = new FileChunker(wasm);
  const events = pieces.flatMap((p) => c.push(p));
  events.push(...c.finish());
  const out: string[] = [];
  let cur: Buffer[] = [];
  for (const e of events) {
    if (e.type === "data") cur.push(Buffer.from(e.data));
    else if (e.type === "hole") out.push(`hole ${e.length}`);
    else {
      const b = Buffer.concat(cur);
      cur = [];
      if (b.length > 0)
        out.push(`${b.length} ${createHash("sha256").update(b).digest("hex").slice(0, 16)}`);
    }
  }
  return out;
}

describe("WebAssembly kernels", () => {
  test("the shipped module is the compiled kernels.wat", async () => {
    const compiled = await compileKernels();
    assert.deepEqual(Buffer.from(KERNELS_WASM_BASE64, "base64"), compiled);
  });

  test("the module loads on this node", () => {
    assert.ok(wasmKernels(), "WebAssembly kernels unavailable");
  });

  test("CRC-64: check value and equality with the JavaScript loop at every alignment", () => {
    assert.equal(crcHex(Buffer.from("123456789"), true), "b90956c775a41001");
    const big = Buffer.from("123456789".repeat(200));
    assert.equal(crcHex(big, true), crcHex(big, false));
    const data = binaryContent(3 << 20, 11);
    for (const n of [0, 1, 15, 16, 17, WASM_MIN - 1, WASM_MIN, WASM_MIN + 13, 100_003]) {
      for (const skew of [0, 1, 3, 7]) {
        const d = data.subarray(skew, skew + n);
        assert.equal(crcHex(d, true), crcHex(d, false), `n=${n} skew=${skew}`);
      }
    }
    // Over 1 MiB in one update (sliced inside), and in uneven pieces mixing both paths.
    assert.equal(crcHex(data, true), crcHex(data, false));
    assert.equal(crcHex(data, true, 777), crcHex(data, false));
  });

  test("chunker: the same chunks and holes as the JavaScript loop, however the input is split", () => {
    const next = rng(5);
    for (let t = 0; t < 60; t++) {
      const n = 1 + (next() % (t < 20 ? 20_000 : 400_000));
      const data = t % 2 ? binaryContent(n, t + 1) : textContent(n, t + 1);
      // Zero runs around the hole threshold, the window size and the input's ends.
      const lengths = [1, 5, 63, 64, 65, 1000, 1023, 1024, 1025, 5000, 70_000];
      for (let z = next() % 12; z > 0; z--) {
        const at = next() % n;
        data.fill(0, at, Math.min(n, at + lengths[next() % lengths.length]!));
      }
      if (t % 9 === 0) data.fill(0, 0, Math.min(n, 2000));
      const pieces: Buffer[] = [];
      const maxPiece = t % 3 === 0 ? 100 : 3 * CHUNKER_WASM_MIN + 200_000;
      for (let o = 0; o < n; ) {
        const len = 1 + (next() % maxPiece);
        pieces.push(data.subarray(o, o + len));
        o += len;
      }
      const reference = chunkList([data], false);
      assert.deepEqual(chunkList(pieces, true), reference, `case ${t}, split`);
      assert.deepEqual(chunkList([data], true), reference, `case ${t}, whole`);
    }
  });
});
