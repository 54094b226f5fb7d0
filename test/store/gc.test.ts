import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { digestOf } from "../../src/digest.js";
import { StoreBusyError, UnsupportedError } from "../../src/errors.js";
import { layerInput, listDir, runChild, tempStore } from "./helpers.js";

const FAST = { pollMs: 10, waitMs: 5000 };

async function deadPid(): Promise<number> {
  const { pid } = await runChild("");
  return pid;
}

describe("gc", () => {
  it("keeps referenced objects and their pointers, removes the rest", async () => {
    const store = await tempStore({ timings: FAST });
    const kept = randomBytes(4000);
    const dropped = randomBytes(3000);
    const k = await store.writeObject(kept);
    const x = await store.writeObject(dropped);
    const kChunk = digestOf(kept.subarray(0, 1000));
    const xChunk = digestOf(dropped.subarray(0, 1000));
    await store.putChunkPointer(kChunk, { object: k.digest, offset: 0, length: 1000 });
    await store.putChunkPointer(xChunk, { object: x.digest, offset: 0, length: 1000 });
    const input = layerInput([k.digest]);
    await store.putLayer(input, Buffer.from("toc"), Buffer.from("split"));

    const result = await store.gc();
    assert.equal(result.removedObjects, 1);
    assert.equal(result.removedChunks, 1);
    assert.ok(result.freedBytes >= 3000);
    assert.ok(await store.hasObject(k.digest));
    assert.equal(await store.hasObject(x.digest), false);
    assert.deepEqual(await store.findChunk(kChunk), kept.subarray(0, 1000));
    assert.equal(await store.hasChunk(xChunk), false);
    assert.ok(await store.getLayer(input.diffId));

    // Once the layer goes, so do its objects and pointers.
    await store.removeLayer(input.diffId);
    const second = await store.gc();
    assert.equal(second.removedObjects, 1);
    assert.equal(second.removedChunks, 1);
    const stats = await store.stats();
    assert.equal(stats.objects, 0);
    assert.equal(stats.chunkPointers, 0);
    assert.equal(stats.layers, 0);
  });

  it("removes layer directories without a record and temp files of dead writers", async () => {
    const store = await tempStore({ timings: FAST });
    const diffId = digestOf(Buffer.from("half-written layer"));
    await mkdir(store.layout.layerDir(diffId), { recursive: true });
    await writeFile(join(store.layout.layerDir(diffId), "toc.json"), "{}");
    const dead = await deadPid();
    await writeFile(join(store.layout.tmpDir, `${dead}-0123abcd.tmp`), "partial");
    const mine = join(store.layout.tmpDir, `${process.pid}-4567abcd.tmp`);
    await writeFile(mine, "in flight");
    const result = await store.gc();
    assert.equal(result.removedLayerDirs, 1);
    assert.equal(result.removedTempFiles, 1);
    assert.deepEqual(await listDir(store.layout.tmpDir), [`${process.pid}-4567abcd.tmp`]);
  });

  it("waits for an active pull and blocks new pulls while it runs", async () => {
    const store = await tempStore({ timings: FAST });
    const orphan = await store.writeObject(randomBytes(100));
    const pull = await store.beginPull();
    await assert.rejects(store.gc({ waitMs: 100 }), StoreBusyError);
    assert.ok(await store.hasObject(orphan.digest), "nothing removed while a pull is active");
    assert.deepEqual(await listDir(store.layout.pullsDir).then((l) => l.length), 1);

    const events: string[] = [];
    const gc = store.gc().then((r) => {
      events.push("gc done");
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    events.push("pull end");
    await pull.end();
    const result = await gc;
    assert.deepEqual(events, ["pull end", "gc done"]);
    assert.equal(result.removedObjects, 1);
    assert.equal(await store.hasObject(orphan.digest), false);
  });

  it("makes a pull wait while a live gc holds the lock", async () => {
    const store = await tempStore({ timings: { pollMs: 10, waitMs: 150 } });
    const info = { pid: process.pid, host: hostname(), started: Date.now() };
    await writeFile(store.layout.gcLock, JSON.stringify(info));
    await assert.rejects(store.beginPull(), StoreBusyError);
    await assert.rejects(store.gc(), StoreBusyError, "a second gc fails fast");
    assert.deepEqual(await listDir(store.layout.pullsDir), [], "withdrawn marker");
  });

  it("ignores a gc lock and pull markers left by dead processes", async () => {
    const store = await tempStore({ timings: FAST });
    const dead = await deadPid();
    const info = JSON.stringify({ pid: dead, host: hostname(), started: Date.now() });
    await writeFile(store.layout.gcLock, info);
    await writeFile(join(store.layout.pullsDir, `${dead}-feedface`), info);
    const pull = await store.beginPull();
    await pull.end();
    const result = await store.gc();
    assert.equal(result.removedObjects, 0);
    assert.deepEqual(await listDir(store.layout.pullsDir), []);
    assert.deepEqual(await listDir(store.root).then((l) => l.includes("gc.lock")), false);
  });

  it("treats a lock whose heartbeat stopped as stale", async () => {
    const store = await tempStore({ timings: { pollMs: 10, waitMs: 2000, staleMs: 200 } });
    const info = { pid: process.pid, host: hostname(), started: Date.now() };
    await writeFile(store.layout.gcLock, JSON.stringify(info));
    const started = Date.now();
    const pull = await store.beginPull();
    assert.ok(Date.now() - started >= 150, "waited for the lock to go stale");
    await pull.end();
  });

  it("keeps a heartbeat on long pulls", async () => {
    const store = await tempStore({ timings: { pollMs: 10, waitMs: 300, staleMs: 100 } });
    const pull = await store.beginPull();
    await new Promise((r) => setTimeout(r, 250));
    await assert.rejects(store.gc(), StoreBusyError, "pull still live after 2.5 x staleMs");
    await pull.end();
    await store.gc();
  });

  it("lets a nested pull start while gc waits for the outer one", async () => {
    const store = await tempStore({ timings: FAST });
    const outer = await store.beginPull();
    const gc = store.gc();
    await new Promise((r) => setTimeout(r, 50)); // gc now holds the lock and waits
    const inner = await store.beginPull();
    await inner.end();
    await outer.end();
    await gc;
  });

  it("skips a damaged layer record (names it, removes it like an unfinished layer)", async () => {
    const store = await tempStore({ timings: FAST });
    const keep = await store.writeObject(randomBytes(100));
    const good = layerInput([keep.digest], "good");
    await store.putLayer(good, Buffer.from("t"), Buffer.from("s"));
    const obj = await store.writeObject(randomBytes(100));
    const input = layerInput([obj.digest]);
    await store.putLayer(input, Buffer.from("t"), Buffer.from("s"));
    await writeFile(join(store.layout.layerDir(input.diffId), "record.json"), "{damaged");
    const r = await store.gc();
    assert.deepEqual(r.damagedLayers, [input.diffId]);
    assert.equal(r.removedObjects, 1);
    assert.ok(await store.hasObject(keep.digest), "the good layer keeps its object");
    assert.equal(await store.hasObject(obj.digest), false);
    assert.deepEqual(
      (await store.listLayers()).map((l) => l.diffId),
      [good.diffId],
    );
  });

  it("refuses to collect when a record comes from a newer version", async () => {
    const store = await tempStore({ timings: FAST });
    const obj = await store.writeObject(randomBytes(100));
    const input = layerInput([obj.digest]);
    await store.putLayer(input, Buffer.from("t"), Buffer.from("s"));
    const orphan = await store.writeObject(randomBytes(100));
    await writeFile(
      join(store.layout.layerDir(input.diffId), "record.json"),
      JSON.stringify({ version: 2 }),
    );
    await assert.rejects(store.gc(), UnsupportedError);
    assert.ok(await store.hasObject(obj.digest));
    assert.ok(await store.hasObject(orphan.digest), "nothing deleted");
    assert.equal(
      await listDir(store.root).then((l) => l.includes("gc.lock")),
      false,
      "lock released",
    );
  });
});
