/**
 * The v1 -> v2 partial pull against the real distribution registry (Debian `docker-registry`),
 * images pushed with chunkpull's own registry client. The registry keeps no byte counts, so the
 * client's (body bytes received, requests sent) are checked against the ideal computed from the
 * blob. With CI set, a missing docker-registry fails the run instead of skipping.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { pushImage } from "../../mock-registry/src/image/build.js";
import type { Digest } from "../../src/digest.js";
import { pull } from "../../src/pull/pull.js";
import { type DockerRegistry, startDockerRegistry, toolSkip } from "../helpers/docker-registry.js";
import {
  clientSink,
  freshStore,
  idealBytes,
  type SampleImages,
  sampleImages,
  testClient,
} from "./helpers.js";

const skip = toolSkip(["docker-registry"]);

describe("partial pull from docker-registry", { skip }, () => {
  let reg: DockerRegistry;
  let images: SampleImages;
  before(async () => {
    reg = await startDockerRegistry();
    images = await sampleImages("zstd:chunked");
    const client = testClient();
    try {
      const sink = clientSink(client, reg.host);
      for (const [tag, image] of [
        ["v1", images.v1],
        ["v2", images.v2],
      ] as const) {
        const digest: Digest = await pushImage(sink, "chunkpull/app", tag, image);
        assert.equal(digest, image.manifestDigest);
      }
    } finally {
      await client.close();
    }
  });
  after(() => reg?.close());

  test("v1 then v2: v2's changed layer costs <= 1.05 x ideal in <= 3 requests", async () => {
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      const r1 = await pull(`${reg.host}/chunkpull/app:v1`, { store, client });
      for (const l of r1.layers) {
        assert.equal(l.mode, "partial");
        assert.equal(l.verified, "diff-id");
        assert.ok(l.requests <= 3, `v1 layer: ${l.requests} requests`);
      }
      const appLayer = images.v2.layers[1]!;
      const ideal = await idealBytes(appLayer, store);
      const r2 = await pull(`${reg.host}/chunkpull/app:v2`, { store, client });
      assert.equal(r2.layers[0]!.mode, "cached");
      const app = r2.layers[1]!;
      assert.equal(app.mode, "partial");
      assert.equal(app.verified, "diff-id");
      assert.ok(app.requests <= 3, `${app.requests} requests`);
      // Body bytes received, multipart part headers included.
      assert.ok(app.bytesFetched >= ideal.total);
      assert.ok(
        app.bytesFetched <= ideal.total * 1.05,
        `received ${app.bytesFetched}, ideal ${ideal.total}`,
      );
      console.log(
        `# docker-registry v2 app layer: ${app.bytesFetched} bytes in ${app.requests} requests, ideal ${ideal.total}, ratio ${(app.bytesFetched / ideal.total).toFixed(4)}`,
      );
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
