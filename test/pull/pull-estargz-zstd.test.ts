/**
 * stargz-snapshotter's zstd flavour through pull(): detected from its annotations (stargz TOC
 * digest + legacy zstd:chunked keys), never mistaken for c/storage zstd:chunked. It has no
 * tar-split, so "diff-id" regenerates its tar from the TOC (formats/estargz/toc-headers.ts) and
 * "toc" accepts it partially on its TOC digest. Expected diff_ids come from INDEX.json.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { assembleImage, pushImage } from "../../mock-registry/src/image/build.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { createHasher, type Digest, digestOf } from "../../src/digest.js";
import { storedLayerTar } from "../../src/output/layer-tar.js";
import { pull } from "../../src/pull/pull.js";
import { CASES, VECTORS } from "../helpers/vectors.js";
import { freshStore, testClient } from "./helpers.js";

describe("pull of estargz-zstd layers", () => {
  let reg: MockRegistry;
  const name = "rootfs";
  const info = CASES[name]!.blobs["estargz-zstd"]!;
  before(async () => {
    reg = await startMockRegistry();
    const blob = readFileSync(join(VECTORS, name, "estargz-zstd.blob"));
    const layer = {
      blob,
      diffId: info.layer_diff_id as Digest,
      descriptor: {
        mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
        digest: digestOf(blob),
        size: blob.length,
        annotations: info.annotations,
      },
    };
    await pushImage(reg, "ez/app", "v1", assembleImage([layer]));
  });
  after(() => reg.close());

  it('verify "diff-id": the tar regenerated from the TOC, proven by the diff_id', async () => {
    const { dir, store } = await freshStore();
    try {
      const r = await pull(`${reg.host}/ez/app:v1`, { store, client: testClient() });
      const l = r.layers[0]!;
      assert.equal(l.format, "estargz-zstd");
      // Into an empty store the chunk path still fetches less than the whole blob.
      assert.equal(l.mode, "partial", l.fallbackReason);
      assert.equal(l.verified, "diff-id");
      assert.ok(l.bytesFetched < l.size, `${l.bytesFetched} of ${l.size}`);
      const h = createHasher();
      for await (const piece of storedLayerTar(store, l.diffId)) h.update(piece);
      assert.equal(h.digest(), info.layer_diff_id, "the stored layer exports to its diff_id");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('verify "toc": a partial pull on the strength of the TOC digest', async () => {
    const { dir, store } = await freshStore();
    try {
      const r = await pull(`${reg.host}/ez/app:v1`, { store, client: testClient(), verify: "toc" });
      const l = r.layers[0]!;
      assert.equal(l.format, "estargz-zstd");
      assert.equal(l.mode, "partial");
      assert.equal(l.verified, "toc");
      assert.ok(l.filesTotal > 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
