/**
 * A legacy zstd:chunked layer pulled in full (an origin that ignores Range, or little in the
 * store) decompresses to a tar without its trailing padding: the full pull proves the padding
 * by the diff_id like the partial pull does, and keeps it in the tar-split.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { describe, test } from "node:test";
import { digestOf } from "../../src/digest.js";
import { DigestMismatchError } from "../../src/errors.js";
import { indexTar } from "../../src/pull/full.js";
import { tarFromStore } from "../../src/store/layer-tar.js";
import { readVector } from "../helpers/vectors.js";
import { freshStore } from "./helpers.js";

/** Where the archive's content ends: the block after the last non-zero byte. */
function contentEnd(tar: Buffer): number {
  let end = tar.length;
  while (end > 0 && tar[end - 1] === 0) end--;
  return Math.ceil(end / 512) * 512;
}

async function* pieces(data: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += 3000) yield data.subarray(i, i + 3000);
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p);
  return Buffer.concat(parts);
}

describe("full pull of a tar whose trailing padding was cut", () => {
  const gnu = readVector("gnutar", "input.tar");
  const diffId = digestOf(gnu);

  test("padding proven by the diff_id is restored, kept in the tar-split, and exports exactly", async () => {
    const { dir, store } = await freshStore();
    try {
      for (const cut of [contentEnd(gnu), contentEnd(gnu) + 1024]) {
        const r = await indexTar(pieces(gnu.subarray(0, cut)), diffId, store, "layer", {
          padding: true,
        });
        assert.equal(r.trailingPadding, gnu.length - cut, `cut at ${cut}`);
        assert.equal(r.uncompressedSize, gnu.length);
        assert.equal(r.diffId, diffId);
        assert.ok(r.tarSplit, r.tarSplitProblem);
        assert.deepEqual(await collect(tarFromStore(r.tarSplit, r.files, store)), gnu);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("without the option, or with a diff_id no padding reaches, it is a digest mismatch", async () => {
    const { dir, store } = await freshStore();
    try {
      const cut = gnu.subarray(0, contentEnd(gnu));
      await assert.rejects(indexTar(pieces(cut), diffId, store, "layer"), DigestMismatchError);
      const other = digestOf(Buffer.concat([gnu, Buffer.alloc(512)]));
      await assert.rejects(
        indexTar(pieces(cut), other, store, "layer", { padding: true }),
        DigestMismatchError,
      );
      // An intact tar needs no padding and reports none.
      const whole = await indexTar(pieces(gnu), diffId, store, "layer", { padding: true });
      assert.equal(whole.trailingPadding, undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
