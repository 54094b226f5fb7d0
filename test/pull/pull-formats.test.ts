/**
 * Every layer format through pull(): eStargz (full under the diff-id policy, partial under the
 * toc policy), gzip and zstd (full pull that indexes files and chunks, so a later zstd:chunked
 * image reuses them), a zstd:chunked layer found through its footer alone, and multi-platform
 * indexes.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import {
  assembleImage,
  type BuiltImage,
  type BuiltLayer,
  buildLayer,
} from "../../mock-registry/src/image/build.js";
import { appLayerFiles, makeTar } from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { digestOf } from "../../src/digest.js";
import { ChunkpullError } from "../../src/errors.js";
import { MediaType } from "../../src/oci/media-types.js";
import { pull } from "../../src/pull/pull.js";
import { APP_SCALE, freshStore, pushTo, served, testClient } from "./helpers.js";

describe("layer formats through pull()", () => {
  let reg: MockRegistry;
  const tars = new Map<number, Buffer>();
  const tarOf = (v: number) => {
    if (!tars.has(v)) tars.set(v, makeTar(appLayerFiles(v, APP_SCALE)));
    return tars.get(v)!;
  };
  before(async () => {
    reg = await startMockRegistry();
  });
  after(() => reg.close());

  async function withStore<T>(
    fn: (store: Awaited<ReturnType<typeof freshStore>>["store"]) => Promise<T>,
  ) {
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      return await fn(store);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  test("eStargz: full pull under diff-id (with a reason), partial under toc", async () => {
    const layer = await buildLayer(tarOf(1), "estargz");
    await pushTo(reg, "formats/estargz", "v1", assembleImage([layer]));
    const ref = `${reg.host}/formats/estargz:v1`;
    await withStore(async (store) => {
      const r = await pull(ref, { store });
      const l = r.layers[0]!;
      assert.equal(l.format, "estargz");
      assert.equal(l.mode, "full");
      assert.equal(l.verified, "diff-id");
      assert.match(l.fallbackReason ?? "", /estargz layer \(no tar-split\)/);
      assert.ok(l.filesTotal > 0);
      assert.equal((await store.getLayer(layer.diffId))?.record.verified, "diff-id");
    });
    await withStore(async (store) => {
      reg.resetStats();
      const r = await pull(ref, { store, verify: "toc" });
      const l = r.layers[0]!;
      assert.equal(l.format, "estargz");
      assert.equal(l.mode, "partial");
      assert.equal(l.verified, "toc");
      assert.equal(l.fallbackReason, undefined);
      assert.equal((await store.getLayer(layer.diffId))?.record.verified, "toc");
      // A toc-verified layer does not satisfy a later diff-id pull: it is pulled again, its tar
      // regenerated from the TOC and the files the store now holds, and proven.
      const again = await pull(ref, { store });
      assert.equal(again.layers[0]!.mode, "partial");
      assert.equal(again.layers[0]!.verified, "diff-id");
      assert.equal(again.layers[0]!.filesFromStore, again.layers[0]!.filesTotal);
      assert.equal((await store.getLayer(layer.diffId))?.record.verified, "diff-id");
    });
  });

  for (const format of ["gzip", "zstd"] as const) {
    test(`${format}: full pull indexes files and chunks for a later zstd:chunked image`, async () => {
      const v1 = await buildLayer(tarOf(1), format);
      const v2 = await buildLayer(tarOf(2), "zstd:chunked");
      const repo = `formats/${format}`;
      await pushTo(reg, repo, "v1", assembleImage([v1]));
      await pushTo(reg, repo, "v2", assembleImage([v2]));
      await withStore(async (store) => {
        const r1 = await pull(`${reg.host}/${repo}:v1`, { store });
        const l1 = r1.layers[0]!;
        assert.equal(l1.format, format);
        assert.equal(l1.mode, "full");
        assert.equal(l1.verified, "diff-id");
        assert.equal(l1.fallbackReason, undefined, "plain layers are simply full pulls");
        assert.ok(l1.filesTotal > 20);
        // gzip: one plain GET. zstd: a tail probe first (a zstd:chunked footer could be there).
        const s1 = served(reg, v1.descriptor.digest, repo);
        assert.equal(s1.requests, format === "gzip" ? 1 : 2, s1.ranges.join(" | "));
        assert.ok((await store.stats()).chunkPointers > 0, "chunks indexed");
        const r2 = await pull(`${reg.host}/${repo}:v2`, { store });
        const l2 = r2.layers[0]!;
        assert.equal(l2.mode, "partial");
        assert.equal(l2.verified, "diff-id");
        assert.ok(l2.filesFromStore > l2.filesTotal / 2, `${l2.filesFromStore}/${l2.filesTotal}`);
        // app/bundle.js grew in the middle: its unchanged chunks come from v1's full pull.
        assert.ok(l2.chunksFromStore > 0, "chunk-level reuse across formats");
        assert.ok(l2.bytesFetched < v2.blob.length / 2, `${l2.bytesFetched} of ${v2.blob.length}`);
      });
    });
  }

  test("zstd:chunked without annotations: found through its footer, verified by diff_id", async () => {
    const layer = await buildLayer(tarOf(1), "zstd:chunked");
    const bare: BuiltLayer = {
      ...layer,
      descriptor: {
        mediaType: layer.descriptor.mediaType,
        digest: layer.descriptor.digest,
        size: layer.descriptor.size,
      },
    };
    await pushTo(reg, "formats/footer", "v1", assembleImage([bare]));
    await withStore(async (store) => {
      reg.resetStats();
      const r = await pull(`${reg.host}/formats/footer:v1`, { store });
      const l = r.layers[0]!;
      assert.equal(l.format, "zstd:chunked");
      assert.equal(l.mode, "partial");
      assert.equal(l.verified, "diff-id");
      // Tail probe, metadata, chunks.
      assert.ok(served(reg, l.digest, "formats/footer").requests <= 4);
    });
  });

  test("image index: the platform option picks, a wrong one lists what there is", async () => {
    const images: Record<string, BuiltImage> = {};
    for (const [arch, v] of [
      ["amd64", 1],
      ["arm64", 2],
    ] as const) {
      const layer = await buildLayer(tarOf(v), "zstd:chunked");
      images[arch] = assembleImage([layer], { architecture: arch, os: "linux" });
      await pushTo(reg, "formats/multi", `single-${arch}`, images[arch]!);
    }
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: Object.entries(images).map(([arch, im]) => ({
          mediaType: im.mediaType,
          digest: im.manifestDigest,
          size: im.manifest.length,
          platform: { os: "linux", architecture: arch },
        })),
      }),
    );
    await reg.putManifest("formats/multi", "latest", index, MediaType.OciIndex);
    const ref = `${reg.host}/formats/multi:latest`;
    await withStore(async (store) => {
      const r = await pull(ref, { store, platform: "linux/arm64" });
      assert.equal(r.platform, "linux/arm64");
      assert.equal(r.manifestDigest, images["arm64"]!.manifestDigest);
      assert.equal(r.layers[0]!.diffId, images["arm64"]!.layers[0]!.diffId);
      const amd = await pull(ref, { store, platform: { os: "linux", architecture: "amd64" } });
      assert.equal(amd.manifestDigest, images["amd64"]!.manifestDigest);
      assert.equal(amd.layers[0]!.verified, "diff-id");
      const err = await pull(ref, { store, platform: "linux/s390x" }).then(
        () => assert.fail("pulled a platform the index does not have"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ChunkpullError, String(err));
      assert.match(err.message, /s390x/);
      assert.match(err.message, /linux\/amd64/);
      assert.match(err.message, /linux\/arm64/);
    });
    assert.notEqual(digestOf(index), images["amd64"]!.manifestDigest);
  });
});
