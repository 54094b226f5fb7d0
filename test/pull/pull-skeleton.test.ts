/**
 * zstd:chunked layers without a tar-split (containers/storage 1.43 blobs from the reference
 * vectors) are partial-pulled: the skeleton frames between the payloads give the rest of the
 * tar, and the diff_id proves it. Expected digests come from INDEX.json.
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

const V1 = Object.keys(CASES).filter((c) => CASES[c]!.blobs["zstdchunked-v1"] !== undefined);

function v1Layer(name: string, withAnnotations: boolean): BuiltLayer {
  const info = CASES[name]!.blobs["zstdchunked-v1"]!;
  const blob = readFileSync(join(VECTORS, name, "zstdchunked-v1.blob"));
  return {
    blob,
    diffId: info.layer_diff_id as Digest,
    descriptor: {
      mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
      digest: digestOf(blob),
      size: blob.length,
      ...(withAnnotations ? { annotations: info.annotations } : {}),
    },
  };
}

async function exportedDigest(store: Parameters<typeof storedLayerTar>[0], diffId: Digest) {
  const h = createHasher();
  for await (const piece of storedLayerTar(store, diffId)) h.update(piece);
  return h.digest();
}

describe("partial pull of zstd:chunked layers without tar-split (skeleton frames)", () => {
  let reg: MockRegistry;
  before(async () => {
    reg = await startMockRegistry();
    for (const name of V1) {
      await pushImage(reg, `v1/${name}`, "annotated", assembleImage([v1Layer(name, true)]));
      await pushImage(reg, `v1/${name}`, "bare", assembleImage([v1Layer(name, false)]));
    }
  });
  after(() => reg.close());

  for (const name of V1) {
    it(`${name}: partial, verified by diff_id, exportable (with and without annotations)`, async () => {
      const want = CASES[name]!.blobs["zstdchunked-v1"]!.layer_diff_id as Digest;
      for (const tag of ["annotated", "bare"]) {
        const { dir, store } = await freshStore();
        try {
          const r = await pull(`${reg.host}/v1/${name}:${tag}`, { store, client: testClient() });
          const l = r.layers[0]!;
          assert.equal(l.mode, "partial", `${tag}: ${l.fallbackReason ?? ""}`);
          assert.equal(l.verified, "diff-id");
          assert.equal(
            await exportedDigest(store, want),
            want,
            "the stored tar-split describes the tar",
          );
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    });
  }

  it("after the same files arrived in another format, only TOC and skeleton are fetched", async () => {
    const name = "rootfs";
    const input = readFileSync(join(VECTORS, name, "input.tar"));
    await pushImage(reg, "v1/dedup", "gzip", assembleImage([await buildLayer(input, "gzip")]));
    await pushImage(reg, "v1/dedup", "v1", assembleImage([v1Layer(name, true)]));
    const { dir, store } = await freshStore();
    try {
      await pull(`${reg.host}/v1/dedup:gzip`, { store, client: testClient() });
      const r = await pull(`${reg.host}/v1/dedup:v1`, { store, client: testClient() });
      const l = r.layers[0]!;
      assert.equal(l.mode, "partial");
      assert.equal(l.filesFromStore, l.filesTotal);
      assert.ok(l.bytesFetched < l.size / 4, `fetched ${l.bytesFetched} of ${l.size}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a config diff_id that does not match the rebuilt tar is a hard error; nothing is kept", async () => {
    const layer = { ...v1Layer("small", true), diffId: digestOf(Buffer.from("another tar")) };
    await pushImage(reg, "v1/liar", "v1", assembleImage([layer]));
    const { dir, store } = await freshStore();
    try {
      await assert.rejects(
        pull(`${reg.host}/v1/liar:v1`, { store, client: testClient() }),
        DigestMismatchError,
      );
      assert.equal(await store.getLayer(layer.diffId), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
