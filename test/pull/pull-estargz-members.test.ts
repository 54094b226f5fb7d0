/**
 * eStargz under verify "diff-id": the tar is regenerated from the TOC and the files the store
 * holds (formats/estargz/toc-headers.ts), or, when that misses, the members of non-last chunks
 * the store holds are skipped and the rest fetched; either stream is proven by the diff_id.
 * Uses the reference `bigfile` eStargz blob (a 10 MiB file in three 4 MiB chunks) after the
 * same files arrived through a gzip image. Expected digests come from INDEX.json.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  assembleImage,
  type BuiltLayer,
  buildLayer,
  pushImage,
} from "../../mock-registry/src/image/build.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { createHasher, type Digest, digestOf } from "../../src/digest.js";
import { DigestMismatchError } from "../../src/errors.js";
import { storedLayerTar } from "../../src/output/layer-tar.js";
import { pull } from "../../src/pull/pull.js";
import { CASES, VECTORS } from "../helpers/vectors.js";
import { freshStore, testClient } from "./helpers.js";

const NAME = "bigfile";

function estargzLayer(diffId?: Digest): BuiltLayer {
  const info = CASES[NAME]!.blobs["estargz"]!;
  const blob = readFileSync(join(VECTORS, NAME, "estargz.blob"));
  return {
    blob,
    diffId: diffId ?? (info.layer_diff_id as Digest),
    descriptor: {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: digestOf(blob),
      size: blob.length,
      annotations: info.annotations,
    },
  };
}

describe("eStargz partial pull proven by the diff_id", () => {
  let reg: MockRegistry;
  before(async () => {
    reg = await startMockRegistry();
    const input = readFileSync(join(VECTORS, NAME, "input.tar"));
    await pushImage(reg, "m/app", "gzip", assembleImage([await buildLayer(input, "gzip")]));
    await pushImage(reg, "m/app", "estargz", assembleImage([estargzLayer()]));
    const liar = estargzLayer(digestOf(Buffer.from("not this tar")));
    await pushImage(reg, "m/liar", "estargz", assembleImage([liar]));
  });
  after(() => reg.close());

  it("skips the chunks the store holds, fetches the rest, and verifies the whole stream", async () => {
    const { dir, store } = await freshStore();
    try {
      await pull(`${reg.host}/m/app:gzip`, { store, client: testClient() });
      const r = await pull(`${reg.host}/m/app:estargz`, { store, client: testClient() });
      const l = r.layers[0]!;
      assert.equal(l.format, "estargz");
      assert.equal(l.mode, "partial", l.fallbackReason);
      assert.equal(l.verified, "diff-id");
      // Headers regenerated from the TOC: every file comes from the store, no member is read.
      assert.equal(l.filesFromStore, l.filesTotal, `${l.filesFromStore} files from the store`);
      assert.ok(l.bytesFetched < l.size * 0.8, `fetched ${l.bytesFetched} of ${l.size}`);
      const want = CASES[NAME]!.blobs["estargz"]!.layer_diff_id as Digest;
      const h = createHasher();
      for await (const piece of storedLayerTar(store, want)) h.update(piece);
      assert.equal(h.digest(), want, "the stored layer exports to its diff_id");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("with nothing in the store it is a full pull, with the reason", async () => {
    const { dir, store } = await freshStore();
    try {
      const r = await pull(`${reg.host}/m/app:estargz`, { store, client: testClient() });
      assert.equal(r.layers[0]!.mode, "full");
      assert.match(r.layers[0]!.fallbackReason ?? "", /no tar-split/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a diff_id the rebuilt stream does not match is a hard error and nothing is recorded", async () => {
    const { dir, store } = await freshStore();
    try {
      await pull(`${reg.host}/m/app:gzip`, { store, client: testClient() });
      await assert.rejects(
        pull(`${reg.host}/m/liar:estargz`, { store, client: testClient() }),
        DigestMismatchError,
      );
      assert.equal((await store.listLayers()).length, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
