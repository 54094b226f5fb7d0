import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { assembleImage, buildLayer, pushImage } from "../../mock-registry/src/image/build.js";
import {
  appLayerFiles,
  baseLayerFiles,
  makeTar,
} from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { pull } from "../../src/pull/pull.js";

describe("pull from the mock registry", () => {
  let reg: MockRegistry;
  let dir: string;
  before(async () => {
    reg = await startMockRegistry();
    dir = await mkdtemp(join(tmpdir(), "chunkpull-pull-"));
    const base = await buildLayer(makeTar(baseLayerFiles()), "zstd:chunked");
    for (const v of [1, 2]) {
      const app = await buildLayer(makeTar(appLayerFiles(v)), "zstd:chunked");
      await pushImage(reg, "demo/app", `v${v}`, assembleImage([base, app]));
    }
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("v1 into an empty store, then v2 fetches only what changed", async () => {
    const store = join(dir, "store");
    const r1 = await pull(`${reg.host}/demo/app:v1`, { store });
    assert.equal(r1.layers.length, 2);
    for (const l of r1.layers) {
      assert.equal(l.mode, "partial");
      assert.equal(l.verified, "diff-id");
    }
    reg.resetStats();
    const r2 = await pull(`${reg.host}/demo/app:v2`, { store });
    assert.equal(r2.layers[0]!.mode, "cached");
    const app = r2.layers[1]!;
    assert.equal(app.mode, "partial");
    assert.ok(app.filesFromStore > 0);
    assert.ok(app.bytesFetched < app.size / 2, `fetched ${app.bytesFetched} of ${app.size}`);
    const served = reg.stats().totals.blobBytesSent;
    assert.ok(
      served <= app.bytesFetched + 1024,
      `server sent ${served}, client counted ${app.bytesFetched}`,
    );
  });
});

describe("layers pulled side by side", () => {
  test("each layer reports its own bytes and requests; a layer listed twice is pulled once", async () => {
    const reg = await startMockRegistry();
    const dir = await mkdtemp(join(tmpdir(), "chunkpull-pull-"));
    try {
      const base = await buildLayer(makeTar(baseLayerFiles(60)), "zstd:chunked");
      const app = await buildLayer(makeTar(appLayerFiles(1, 0.2)), "zstd:chunked");
      await pushImage(reg, "dup/app", "v1", assembleImage([base, app, base]));
      reg.resetStats();
      const r = await pull(`${reg.host}/dup/app:v1`, {
        store: join(dir, "store"),
        layerConcurrency: 3,
      });
      assert.deepEqual(
        r.layers.map((l) => l.mode),
        ["partial", "partial", "cached"],
      );
      const served = reg.stats().blobs;
      for (const l of r.layers.slice(0, 2)) {
        const sent = served[l.digest]!.bytesSent;
        assert.ok(
          Math.abs(l.bytesFetched - sent) <= 1024,
          `${l.digest}: client ${l.bytesFetched}, server ${sent}`,
        );
        assert.equal(l.requests, served[l.digest]!.requests);
      }
      assert.equal(r.layers[2]!.bytesFetched, 0);
    } finally {
      await reg.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
