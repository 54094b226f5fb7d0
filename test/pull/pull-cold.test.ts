/**
 * Cold pulls: a chunked layer of COLD_STREAM_MIN_BYTES or more into a store holding no objects
 * is taken as one streamed GET (full-pull path), still verified by its diff_id; the next
 * version then pulls partially against what it stored.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import {
  assembleImage,
  type BuiltLayer,
  buildLayer,
  pushImage,
} from "../../mock-registry/src/image/build.js";
import {
  binaryContent,
  makeTar,
  type TarFile,
  textContent,
} from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { openStore } from "../../src/index.js";
import { COLD_STREAM_MIN_BYTES } from "../../src/pull/config.js";
import { pull } from "../../src/pull/pull.js";
import { blobRequests, tempDir } from "./helpers.js";

/** 40 files of 160 KiB (mostly incompressible, so the blob passes the cold threshold). */
function files(version: number): TarFile[] {
  const out: TarFile[] = [{ name: "app/", type: "5" }];
  for (let i = 0; i < 40; i++) {
    const seed = i + (version > 1 && i % 10 === 0 ? 1000 * version : 0) + 1;
    const data = i % 4 ? binaryContent(160 << 10, seed) : textContent(160 << 10, seed);
    out.push({ name: `app/f${i}`, data });
  }
  return out;
}

describe("cold pull into an empty store", () => {
  let reg: MockRegistry;
  let dir: string;
  const layers: BuiltLayer[] = [];
  before(async () => {
    reg = await startMockRegistry();
    dir = await tempDir();
    for (const v of [1, 2]) {
      const layer = await buildLayer(makeTar(files(v)), "zstd:chunked");
      layers.push(layer);
      await pushImage(reg, "cold/app", `v${v}`, assembleImage([layer]));
    }
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("one streamed GET, verified by the diff_id; then a partial update", async () => {
    const v1 = layers[0]!;
    assert.ok(v1.descriptor.size >= COLD_STREAM_MIN_BYTES, `layer ${v1.descriptor.size} bytes`);
    const store = `${dir}/store`;
    const events: string[] = [];
    const r1 = await pull(`${reg.host}/cold/app:v1`, {
      store,
      plainHttp: true,
      onProgress: (e) => events.push(e.message),
    });
    const l1 = r1.layers[0]!;
    assert.equal(l1.mode, "full");
    assert.equal(l1.verified, "diff-id");
    assert.equal(l1.fallbackReason, undefined);
    assert.ok(events.some((m) => m.includes("one streamed GET")));
    // Discovery reads the TOC with ranges; the payload then comes in exactly one plain GET.
    const whole = blobRequests(reg, v1.descriptor.digest).filter((r) => !r.range);
    assert.equal(whole.length, 1);
    const s = await openStore(store);
    const stats = await s.stats();
    assert.equal(stats.tempFiles, 0);
    assert.equal(stats.objects, 40);
    assert.ok(await s.getLayer(v1.diffId));

    reg.resetStats();
    const r2 = await pull(`${reg.host}/cold/app:v2`, { store, plainHttp: true });
    const l2 = r2.layers[0]!;
    assert.equal(l2.mode, "partial");
    assert.equal(l2.verified, "diff-id");
    assert.ok(l2.filesFromStore >= 30, `${l2.filesFromStore} files from the store`);
    assert.ok(l2.bytesFetched < l2.size / 3, `fetched ${l2.bytesFetched} of ${l2.size}`);
  });
});
