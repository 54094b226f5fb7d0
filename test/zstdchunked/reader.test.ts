import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { verifyBytes } from "../../src/digest.js";
import { FallbackError } from "../../src/errors.js";
import { openFileSource } from "../../src/formats/file-source.js";
import type { RangeSource } from "../../src/formats/layer-index.js";
import { openZstdChunked, type ZstdChunkedLayer } from "../../src/formats/zstdchunked/reader.js";
import { rebuildTar } from "../../src/formats/zstdchunked/rebuild.js";
import { CASES, casesWith, readVector, vectorPath } from "../helpers/vectors.js";
import { convertFile, memorySource, sha256Of } from "./helpers.js";

/** Fetch and decode every chunk; each file must hash to its TOC digest. */
async function verifyAllChunks(src: RangeSource, layer: ZstdChunkedLayer): Promise<number> {
  let chunks = 0;
  for (const f of layer.files) {
    const raw = await src.read(
      f.chunks.map((c) => ({ offset: c.offset, length: c.end - c.offset })),
    );
    const parts = await Promise.all(f.chunks.map((c, i) => layer.decodeChunk(raw[i]!, c)));
    verifyBytes(Buffer.concat(parts), f.digest, f.name);
    chunks += parts.length;
  }
  return chunks;
}

async function withFile<T>(name: string, file: string, fn: (src: RangeSource) => Promise<T>) {
  const src = await openFileSource(vectorPath(name, file));
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}

describe("openZstdChunked on c/storage v1.59.1 blobs (zstdchunked-v2)", () => {
  for (const name of casesWith("zstdchunked-v2")) {
    const info = CASES[name]!.blobs["zstdchunked-v2"]!;
    it(`${name}: annotations, footer, chunks, rebuild`, async () => {
      await withFile(name, "zstdchunked-v2.blob", async (file) => {
        const src = memorySource(readVector(name, "zstdchunked-v2.blob"));
        const layer = await openZstdChunked(src, { annotations: info.annotations });
        // TOC and tar-split lie side by side: one request, one range covering both.
        assert.equal(src.calls.length, 1, "TOC and tar-split in one request");
        assert.equal(src.calls[0]!.length, 1);
        assert.equal(layer.tocDigest, info.toc_digest);
        assert.equal(layer.tocTrusted, true);
        assert.equal(layer.tarSplitTrust, "toc");
        assert.ok(layer.tarSplit);
        assert.equal(layer.footerVariant, undefined);

        const fromFooter = await openZstdChunked(file);
        assert.equal(fromFooter.footerVariant, "C");
        assert.equal(fromFooter.tocTrusted, false);
        assert.equal(fromFooter.tocDigest, info.toc_digest);
        assert.deepEqual(fromFooter.files, layer.files);
        assert.deepEqual(fromFooter.tarSplitPosition, layer.tarSplitPosition);

        const chunks = await verifyAllChunks(file, layer);
        assert.ok(chunks >= layer.files.length);
        assert.equal(await sha256Of(rebuildTar(file, layer)), CASES[name]!.input_diff_id);
      });
    });
  }
});

describe("openZstdChunked on c/storage v1.51.2 blobs (tarsplit-checksum annotation)", () => {
  for (const name of casesWith("zstdchunked-v2-legacy151")) {
    const info = CASES[name]!.blobs["zstdchunked-v2-legacy151"]!;
    it(`${name}: tar-split trusted via the annotation, rebuild = layer diff_id`, async () => {
      await withFile(name, "zstdchunked-v2-legacy151.blob", async (src) => {
        const layer = await openZstdChunked(src, { annotations: info.annotations });
        assert.equal(layer.tarSplitTrust, "legacy-annotation");
        assert.equal(layer.tarSplit, undefined);
        assert.ok(layer.legacyTarSplit);
        assert.equal(layer.hasTarSplit, true);
        await verifyAllChunks(src, layer);
        assert.equal(await sha256Of(rebuildTar(src, layer)), info.layer_diff_id);
        const fromFooter = await openZstdChunked(src);
        assert.equal(fromFooter.footerVariant, "C");
        assert.equal(fromFooter.hasTarSplit, false, "nothing vouches for the tar-split");
      });
    });
  }
});

describe("openZstdChunked on c/storage 1.43 blobs (zstdchunked-v1)", () => {
  for (const name of casesWith("zstdchunked-v1")) {
    const info = CASES[name]!.blobs["zstdchunked-v1"]!;
    it(`${name}: legacy keys, 40-byte footer, no tar-split`, async () => {
      await withFile(name, "zstdchunked-v1.blob", async (src) => {
        const layer = await openZstdChunked(src, { annotations: info.annotations });
        assert.equal(layer.legacyKeys, true);
        assert.equal(layer.hasTarSplit, false);
        assert.equal(layer.tocDigest, info.toc_digest);
        await verifyAllChunks(src, layer);
        const fromFooter = await openZstdChunked(src);
        assert.equal(fromFooter.footerVariant, "A");
        assert.deepEqual(fromFooter.files, layer.files);
        await assert.rejects(sha256Of(rebuildTar(src, layer)), (e: Error) => {
          return e instanceof FallbackError && /no tar-split/.test(e.message);
        });
      });
    });
  }
});

describe("writer output through the reader", () => {
  for (const name of casesWith("zstdchunked-v2")) {
    it(`${name}: converted blob opens, verifies and rebuilds to input diff_id`, async () => {
      const { blob, result } = await convertFile(vectorPath(name, "input.tar"));
      const src = memorySource(blob);
      const layer = await openZstdChunked(src, { annotations: result.annotations });
      assert.equal(layer.tocDigest, result.tocDigest);
      assert.equal(layer.tarSplitTrust, "toc");
      await verifyAllChunks(src, layer);
      assert.equal(await sha256Of(rebuildTar(src, layer)), CASES[name]!.input_diff_id);
    });
  }
});
