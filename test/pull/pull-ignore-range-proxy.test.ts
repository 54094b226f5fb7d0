/**
 * A registry that ignores Range: Debian's `docker-registry` behind a small proxy (written here)
 * that strips the Range header from every request. A pull must download each blob at most once
 * whatever the server does: the first whole-blob answer (to the metadata request) becomes the
 * layer's full pull. Bytes are counted at the proxy, per blob, as the server sent them.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { pushImage } from "../../mock-registry/src/image/build.js";
import { pull } from "../../src/pull/pull.js";
import { type DockerRegistry, startDockerRegistry, toolSkip } from "../helpers/docker-registry.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { clientSink, freshStore, type SampleImages, sampleImages, testClient } from "./helpers.js";

const skip = toolSkip(["docker-registry"]);

describe("pull from a registry that ignores Range (docker-registry behind a proxy)", {
  skip,
}, () => {
  let reg: DockerRegistry;
  let proxy: TestProxy;
  let images: SampleImages;
  before(async () => {
    reg = await startDockerRegistry();
    images = await sampleImages("zstd:chunked");
    const client = testClient();
    try {
      const sink = clientSink(client, reg.host);
      await pushImage(sink, "chunkpull/app", "v1", images.v1);
      await pushImage(sink, "chunkpull/app", "v2", images.v2);
    } finally {
      await client.close();
    }
    proxy = await startProxy(reg.host, { stripRange: true });
  });
  after(async () => {
    await proxy?.close();
    await reg?.close();
  });

  test("cold pull and update pull each read every layer at most 1.1x its size, verified", async () => {
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      const r1 = await pull(`${proxy.host}/chunkpull/app:v1`, { store, client });
      for (const [i, l] of r1.layers.entries()) {
        assert.equal(l.mode, "full");
        assert.equal(l.verified, "diff-id");
        assert.match(l.fallbackReason ?? "", /ignores Range/);
        assert.equal(l.diffId, images.v1.layers[i]!.diffId);
        assert.ok(await store.getLayer(l.diffId));
      }
      const r2 = await pull(`${proxy.host}/chunkpull/app:v2`, { store, client });
      assert.equal(r2.layers[0]!.mode, "cached");
      const app = r2.layers[1]!;
      assert.equal(app.mode, "full");
      assert.equal(app.verified, "diff-id");
      assert.equal(app.diffId, images.v2.layers[1]!.diffId);
      assert.ok(await store.getLayer(app.diffId));
      for (const layer of [...images.v1.layers, images.v2.layers[1]!]) {
        const served = proxy.blobs.get(layer.descriptor.digest);
        assert.ok(served, `${layer.descriptor.digest} never requested`);
        assert.ok(
          served.bytes <= 1.1 * layer.blob.length,
          `${layer.descriptor.digest}: ${served.bytes} bytes in ${served.requests} requests for a ${layer.blob.length}-byte blob`,
        );
        console.log(
          `# Range ignored: ${layer.blob.length}-byte layer read as ${served.bytes} bytes in ${served.requests} request(s)`,
        );
      }
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
