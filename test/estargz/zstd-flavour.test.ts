import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHasher, digestOf } from "../../src/digest.js";
import { rebuildEstargzZstdTar } from "../../src/formats/estargz/rebuild.js";
import { openEstargzZstd } from "../../src/formats/estargz/zstd-flavour.js";
import { zstdDecompress } from "../../src/formats/zstd.js";
import { CASES, hasVector, memorySource, vector, vectorFile } from "./helpers.js";

const ZSTD_CASES = CASES.filter((c) => hasVector(c, "estargz-zstd"));
const V1_CASES = CASES.filter((c) => hasVector(c, "zstdchunked-v1"));

describe("openEstargzZstd on every estargz-zstd reference vector", () => {
  it("has vectors to test", () => assert.ok(ZSTD_CASES.length >= 8));
  for (const name of ZSTD_CASES) {
    it(`${name}: TOC verified, every chunk verified, files rebuild`, async () => {
      const { blob, info } = vector(name, "estargz-zstd");
      const src = memorySource(blob);
      const layer = await openEstargzZstd(src, { annotations: info.annotations });
      assert.equal(layer.format, "estargz-zstd");
      assert.equal(layer.tocVerified, true);
      assert.equal(layer.tocDigest, info.toc_digest);
      assert.equal(digestOf(layer.tocJson), info.toc_digest);
      // Same input tar, same TOC schema as the gzip flavour: the same number of entries.
      const gzipToc = JSON.parse(vectorFile(name, "estargz.toc.json").toString("utf8"));
      assert.equal(layer.toc.entries.length, gzipToc.entries.length);
      for (const file of layer.files) {
        const whole = createHasher();
        for (const chunk of file.chunks) {
          const [bytes] = await src.read([
            { offset: chunk.offset, length: chunk.end - chunk.offset },
          ]);
          whole.update(await layer.decodeChunk(bytes as Buffer, chunk));
        }
        assert.equal(whole.digest(), file.digest, file.name);
      }
      // The whole blob decompresses (skippable frames skipped) to the layer's diff_id stream,
      // and so does the member-by-member rebuild.
      const all = await zstdDecompress(blob, 64 << 20);
      assert.equal(digestOf(all), info.layer_diff_id);
      const h = createHasher();
      for await (const piece of rebuildEstargzZstdTar(src, layer)) h.update(piece);
      assert.equal(h.digest(), info.layer_diff_id);
    });
  }

  it("opens without annotations (landmark present) but reports the TOC unverified", async () => {
    const { blob } = vector("small", "estargz-zstd");
    const layer = await openEstargzZstd(memorySource(blob));
    assert.equal(layer.tocVerified, false);
  });

  it("rejects a wrong toc.digest and a wrong legacy manifest-checksum", async () => {
    const { blob, info } = vector("small", "estargz-zstd");
    const bad = `sha256:${"0".repeat(64)}`;
    await assert.rejects(
      openEstargzZstd(memorySource(blob), {
        annotations: { ...info.annotations, "containerd.io/snapshot/stargz/toc.digest": bad },
      }),
      { name: "DigestMismatchError" },
    );
    await assert.rejects(
      openEstargzZstd(memorySource(blob), {
        annotations: { ...info.annotations, "io.containers.zstd-chunked.manifest-checksum": bad },
      }),
      { name: "DigestMismatchError" },
    );
    await assert.rejects(
      openEstargzZstd(memorySource(blob), {
        annotations: {
          ...info.annotations,
          "io.containers.zstd-chunked.manifest-position": "1:2:3:1",
        },
      }),
      { name: "FormatError" },
    );
  });
});

describe("openEstargzZstd never accepts containers/storage zstd:chunked v1 (same footer)", () => {
  for (const name of V1_CASES) {
    it(`${name}: refused with and without its annotations`, async () => {
      const { blob, info } = vector(name, "zstdchunked-v1");
      await assert.rejects(openEstargzZstd(memorySource(blob), { annotations: info.annotations }), {
        name: "FormatError",
        message: /containers\/storage/,
      });
      await assert.rejects(openEstargzZstd(memorySource(blob)), {
        name: "FormatError",
        message: /containers\/storage/,
      });
    });
  }
});
