import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { access, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Digest, digestOf } from "../../src/digest.js";
import { NotInStoreError } from "../../src/errors.js";
import type { Store } from "../../src/store/index.js";
import { layerInput, listDir, tempStore } from "./helpers.js";

async function twoObjects(store: Store): Promise<Digest[]> {
  const a = await store.writeObject(randomBytes(1000));
  const b = await store.writeObject(randomBytes(2000));
  return [a.digest, b.digest];
}

describe("layer records", () => {
  it("stores and returns a layer with its TOC and tar-split", async () => {
    const store = await tempStore();
    const objects = await twoObjects(store);
    const toc = randomBytes(500);
    const tarSplit = Buffer.from('{"type":1}\n{"type":2}\n');
    const input = layerInput(objects);
    const before = Date.now();
    const record = await store.putLayer(input, toc, tarSplit);
    const layer = await store.getLayer(input.diffId);
    assert.ok(layer);
    assert.deepEqual(layer.record, record);
    assert.equal(layer.record.diffId, input.diffId);
    assert.deepEqual(layer.record.objects, objects);
    assert.equal(layer.record.files.digest, digestOf(toc));
    assert.equal(layer.record.tarSplit.size, tarSplit.length);
    assert.ok(Date.parse(layer.record.created) >= before - 1000);
    assert.deepEqual(await readFile(layer.tocPath), toc);
    assert.deepEqual(await readFile(layer.tarSplitPath), tarSplit);
    assert.ok(layer.dir.includes(`/layers/sha256/${input.diffId.slice(7, 9)}/`));
    assert.deepEqual(
      (await store.listLayers()).map((r) => r.diffId),
      [input.diffId],
    );
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
  });

  it("accepts streamed metadata", async () => {
    const store = await tempStore();
    const big = randomBytes(300_000);
    async function* stream() {
      for (let i = 0; i < big.length; i += 50_000) yield big.subarray(i, i + 50_000);
    }
    const input = layerInput([], "streamed");
    await store.putLayer(input, Buffer.from("{}"), stream());
    const layer = await store.getLayer(input.diffId);
    assert.deepEqual(await readFile(layer!.tarSplitPath), big);
  });

  it("refuses a record that references a missing object", async () => {
    const store = await tempStore();
    const input = layerInput([digestOf(Buffer.from("absent"))]);
    await assert.rejects(
      store.putLayer(input, Buffer.from("{}"), Buffer.from("")),
      NotInStoreError,
    );
    assert.equal(await store.getLayer(input.diffId), undefined);
  });

  it("writes the record last: a failed tar-split leaves the layer absent", async () => {
    const store = await tempStore();
    const input = layerInput(await twoObjects(store));
    async function* broken() {
      yield Buffer.from("partial");
      throw new Error("tar-split stream broke");
    }
    await assert.rejects(store.putLayer(input, Buffer.from("{}"), broken()), /broke/);
    assert.equal(await store.getLayer(input.diffId), undefined);
    assert.deepEqual(await store.listLayers(), []);
    await assert.rejects(access(join(store.layout.layerDir(input.diffId), "record.json")));
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
  });

  it("treats a layer whose files disagree with the record as absent", async () => {
    const store = await tempStore();
    const input = layerInput([]);
    await store.putLayer(input, Buffer.from("toc-bytes"), Buffer.from("split"));
    const layer = await store.getLayer(input.diffId);
    await writeFile(layer!.tocPath, "a different toc");
    assert.equal(await store.getLayer(input.diffId), undefined);
  });

  it("re-puts and removes layers", async () => {
    const store = await tempStore();
    const input = layerInput([]);
    await store.putLayer(input, Buffer.from("one"), Buffer.from("1"));
    await store.putLayer(input, Buffer.from("second"), Buffer.from("22"));
    const layer = await store.getLayer(input.diffId);
    assert.deepEqual(await readFile(layer!.tocPath, "utf8"), "second");
    assert.equal(await store.removeLayer(input.diffId), true);
    assert.equal(await store.getLayer(input.diffId), undefined);
    assert.equal(await store.removeLayer(input.diffId), false);
  });

  it("skips a damaged record: absent to getLayer and ls, named by damagedLayers, re-put works", async () => {
    const store = await tempStore();
    const input = layerInput([]);
    await store.putLayer(input, Buffer.from("t"), Buffer.from("s"));
    const path = join(store.layout.layerDir(input.diffId), "record.json");
    const text = await readFile(path, "utf8");
    await writeFile(path, text.slice(0, text.length >> 1)); // truncated
    assert.equal(await store.getLayer(input.diffId), undefined);
    assert.deepEqual(await store.listLayers(), []);
    const damaged = await store.damagedLayers();
    assert.equal(damaged.length, 1);
    assert.equal(damaged[0]!.diffId, input.diffId);
    assert.match(damaged[0]!.reason, /not valid JSON/);
    await store.putLayer(input, Buffer.from("t"), Buffer.from("s"));
    assert.ok(await store.getLayer(input.diffId));
  });

  it("reads a store written when the files index was called toc.json", async () => {
    const store = await tempStore();
    const input = layerInput([]);
    await store.putLayer(input, Buffer.from("index"), Buffer.from("s"));
    const dir = store.layout.layerDir(input.diffId);
    const record = JSON.parse(await readFile(join(dir, "record.json"), "utf8"));
    record.toc = record.files;
    delete record.files;
    await writeFile(join(dir, "record.json"), JSON.stringify(record));
    await rename(join(dir, "files.json"), join(dir, "toc.json"));
    const layer = await store.getLayer(input.diffId);
    assert.ok(layer);
    assert.equal(layer.filesPath, join(dir, "toc.json"));
    assert.equal(await readFile(layer.filesPath, "utf8"), "index");
    assert.equal(layer.record.files.size, 5);
  });
});
