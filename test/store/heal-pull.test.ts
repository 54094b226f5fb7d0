/**
 * Pulls through a damaged store (issue: an interrupted gc broke every later pull, damaged
 * objects were never repaired, a truncated record blocked ls, gc and pulls): each case now
 * heals by fetching what is gone, and the stored layers export to their diff_ids.
 */
import assert from "node:assert/strict";
import { chmod, open, readFile, rm, unlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { assembleImage, buildLayer, pushImage } from "../../mock-registry/src/image/build.js";
import { appLayerFiles, makeTar } from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { createHasher, type Digest } from "../../src/digest.js";
import { openChunkedLayer } from "../../src/formats/open.js";
import { pull } from "../../src/pull/pull.js";
import { readPointerAt } from "../../src/store/chunks.js";
import { walkFanOut } from "../../src/store/gc.js";
import type { Store } from "../../src/store/index.js";
import { OBJECT_STAMP_S } from "../../src/store/objects.js";
import { runCli } from "../cli/helpers.js";
import {
  APP_SCALE,
  bufferSource,
  freshStore,
  type SampleImages,
  sampleImages,
  testClient,
} from "../pull/helpers.js";

async function flipByte(store: Store, d: Digest, keepStamp = false): Promise<void> {
  const path = store.objectPath(d);
  await chmod(path, 0o644);
  const fh = await open(path, "r+");
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, 0);
  b[0] = b[0]! ^ 0xff;
  await fh.write(b, 0, 1, 0);
  await fh.close();
  if (keepStamp) await utimes(path, OBJECT_STAMP_S, OBJECT_STAMP_S);
}

async function exportDigest(store: Store, diffId: Digest): Promise<Digest> {
  const h = createHasher();
  for await (const piece of store.layerTar(diffId)) h.update(piece);
  return h.digest();
}

async function objectsOf(store: Store, diffId: Digest): Promise<Digest[]> {
  const layer = await store.getLayer(diffId);
  assert.ok(layer, `layer ${diffId} is stored`);
  return [...new Set(layer.record.objects)];
}

describe("pulls heal a damaged store", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  const dirs: string[] = [];
  const store = async () => {
    const s = await freshStore();
    dirs.push(s.dir);
    return s.store;
  };
  const pullInto = (s: Store, tag: string) =>
    pull(`${reg.host}/heal/app:${tag}`, { store: s, client: testClient() });

  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushImage(reg, "heal/app", "v1", images.v1);
    await pushImage(reg, "heal/app", "v2", images.v2);
    const gzipApp = await buildLayer(makeTar(appLayerFiles(1, APP_SCALE)), "gzip");
    await pushImage(reg, "heal/app", "v1-gzip", assembleImage([images.base, gzipApp]));
  });
  after(async () => {
    await reg.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("pointers left dangling by an interrupted gc are misses: the next partial pull fetches", async () => {
    const s = await store();
    await pullInto(s, "v1");
    const app1 = images.v1.layers[1]!.diffId;
    const gone = await objectsOf(s, app1);
    await s.removeLayer(app1);
    for (const d of gone) await unlink(s.objectPath(d)).catch(() => {}); // objects gone, pointers kept
    let dangling = 0;
    for await (const { path } of walkFanOut(s.layout.chunksDir)) {
      const target = (await readPointerAt(path))?.object;
      if (target && gone.includes(target)) dangling++;
    }
    assert.ok(dangling > 0, "the setup leaves pointers into removed objects");
    const r = await pullInto(s, "v2");
    const app2 = images.v2.layers[1]!.diffId;
    assert.equal(r.layers[1]!.mode, "partial");
    assert.equal(await exportDigest(s, app2), app2);
  });

  it("a cached pull over an object edited in place pulls the layer again", async () => {
    const s = await store();
    await pullInto(s, "v1");
    const app1 = images.v1.layers[1]!.diffId;
    await flipByte(s, (await objectsOf(s, app1))[0]!);
    const r = await pullInto(s, "v1");
    assert.equal(r.layers[0]!.mode, "cached");
    assert.notEqual(r.layers[1]!.mode, "cached");
    assert.equal(await exportDigest(s, app1), app1);
  });

  it("damage that kept the integrity stamp is found on use and the layer re-planned", async () => {
    const s = await store();
    await pullInto(s, "v1");
    const v2 = images.v2.layers[1]!;
    const opened = await openChunkedLayer(bufferSource(v2.blob), v2.descriptor.annotations, {
      mediaType: v2.descriptor.mediaType,
    });
    const inV2 = new Set(opened.files.map((f) => f.digest));
    const shared = (await objectsOf(s, images.v1.layers[1]!.diffId)).filter((d) => inV2.has(d));
    assert.ok(shared.length > 0, "v1 and v2 share files");
    for (const d of shared) await flipByte(s, d, true);
    const progress: string[] = [];
    const r = await pull(`${reg.host}/heal/app:v2`, {
      store: s,
      client: testClient(),
      onProgress: (e) => progress.push(e.message),
    });
    const app2 = images.v2.layers[1]!.diffId;
    assert.equal(r.layers[1]!.verified, "diff-id");
    // Held files are first proven by the diff_id alone; its failure makes the pull hash each
    // held file, which finds the damaged ones, removes them and plans again.
    assert.ok(
      progress.some((m) => m.includes("checking every file the store held")),
      progress.join("\n"),
    );
    assert.ok(
      progress.some((m) => m.includes("planning again")),
      progress.join("\n"),
    );
    assert.equal(await exportDigest(s, app2), app2);
  });

  it("a full pull rewrites a damaged object instead of recording a layer on top of it", async () => {
    const s = await store();
    await pullInto(s, "v1");
    const app1 = images.v1.layers[1]!.diffId;
    for (const d of await objectsOf(s, app1)) await flipByte(s, d);
    const r = await pullInto(s, "v1-gzip");
    assert.equal(r.layers[1]!.mode, "full");
    assert.equal(await exportDigest(s, app1), app1);
  });

  it("a truncated record names its layer and blocks neither ls, gc nor the next pull", async () => {
    const s = await store();
    await pullInto(s, "v1");
    const app1 = images.v1.layers[1]!.diffId;
    const record = join(s.layout.layerDir(app1), "record.json");
    const text = await readFile(record, "utf8");
    await writeFile(record, text.slice(0, 40));
    const ls = await runCli(["store", "ls", "--store", s.root]);
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok(ls.stderr.includes(app1), ls.stderr);
    const gc = await runCli(["store", "gc", "--store", s.root, "--json"]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(JSON.parse(gc.stdout).damagedLayers, [app1]);
    const r = await pullInto(s, "v1");
    assert.equal(r.layers[1]!.mode, "partial");
    assert.equal(await exportDigest(s, app1), app1);
  });
});
