/**
 * The store heals instead of failing: whatever fails verification on use (a dangling or bad
 * pointer, an object edited in place, damage that kept the integrity stamp, a symlink planted in
 * place of an object) is a miss, and is removed.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  chmod,
  lstat,
  mkdir,
  open,
  readFile,
  symlink,
  unlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { type Digest, digestOf } from "../../src/digest.js";
import { NotInStoreError } from "../../src/errors.js";
import type { Store } from "../../src/store/index.js";
import { OBJECT_STAMP_S } from "../../src/store/objects.js";
import { layerInput, tempStore } from "./helpers.js";

/** Flip one byte of a stored object as an editor would (the mtime moves). */
async function flipByte(store: Store, d: Digest, at = 0): Promise<void> {
  const path = store.objectPath(d);
  await chmod(path, 0o644);
  const fh = await open(path, "r+");
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0xff;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

describe("self-healing store", () => {
  it("objects carry the integrity stamp", async () => {
    const store = await tempStore();
    const { digest } = await store.writeObject(randomBytes(1000));
    const st = await lstat(store.objectPath(digest));
    assert.equal(st.mtimeMs, OBJECT_STAMP_S * 1000);
  });

  it("a pointer whose object is gone is a miss for planning, and is removed", async () => {
    const store = await tempStore();
    const data = randomBytes(10_000);
    const obj = await store.writeObject(data);
    const chunk = digestOf(data.subarray(100, 600));
    await store.putChunkPointer(chunk, { object: obj.digest, offset: 100, length: 500 });
    assert.ok(await store.hasChunk(chunk));
    await unlink(store.objectPath(obj.digest)); // what a gc killed between objects and pointers left
    assert.equal(await store.hasChunk(chunk), false);
    assert.equal(await store.getChunkPointer(chunk), undefined, "the dangling pointer is gone");
    assert.equal(await store.findChunk(chunk), undefined);
  });

  it("a pointer past the end of its object is a miss", async () => {
    const store = await tempStore();
    const obj = await store.writeObject(randomBytes(100));
    const chunk = digestOf(Buffer.from("x"));
    await store.putChunkPointer(chunk, { object: obj.digest, offset: 90, length: 50 });
    assert.equal(await store.hasChunk(chunk), false);
    assert.equal(await store.getChunkPointer(chunk), undefined);
  });

  it("an object edited in place is re-hashed on use, found damaged and removed", async () => {
    const store = await tempStore();
    const data = randomBytes(5000);
    const { digest } = await store.writeObject(data);
    const chunk = digestOf(data.subarray(0, 1000));
    await store.putChunkPointer(chunk, { object: digest, offset: 0, length: 1000 });
    await flipByte(store, digest, 10);
    assert.equal(await store.hasChunk(chunk), false, "a pointer into a damaged object");
    assert.equal(await store.hasObject(digest), false);
    await assert.rejects(lstat(store.objectPath(digest)), { code: "ENOENT" });
  });

  it("an unstamped object that still hashes right is kept and stamped again", async () => {
    const store = await tempStore();
    const { digest } = await store.writeObject(randomBytes(5000));
    await utimes(store.objectPath(digest), new Date(), new Date()); // e.g. copied without -p
    assert.ok(await store.hasObject(digest));
    assert.equal((await lstat(store.objectPath(digest))).mtimeMs, OBJECT_STAMP_S * 1000);
  });

  it("an object of the wrong size is a miss", async () => {
    const store = await tempStore();
    const data = randomBytes(5000);
    const { digest } = await store.writeObject(data);
    assert.equal(await store.hasObject(digest, 4999), false);
    assert.equal(await store.hasObject(digest), false, "and it was removed");
  });

  it("damage that kept the stamp is caught on read, before the last byte, and removed", async () => {
    const store = await tempStore();
    const data = randomBytes(3 << 20);
    const { digest } = await store.writeObject(data);
    await flipByte(store, digest, 5);
    await utimes(store.objectPath(digest), OBJECT_STAMP_S, OBJECT_STAMP_S);
    assert.ok(await store.hasObject(digest), "the cheap check cannot see it");
    let received = 0;
    await assert.rejects(async () => {
      for await (const p of await store.openObject(digest)) received += p.length;
    }, NotInStoreError);
    assert.ok(received < data.length, "the consumer never gets the whole damaged object");
    assert.equal(await store.hasObject(digest), false, "removed");
  });

  it("a symlink planted in place of an object is never followed", async () => {
    const store = await tempStore();
    const secret = randomBytes(100);
    const d = digestOf(secret);
    const outside = join(store.root, "..", `outside-${d.slice(7, 15)}`);
    await writeFile(outside, secret); // even content that hashes right is not read through a link
    await mkdir(dirname(store.objectPath(d)), { recursive: true });
    await symlink(outside, store.objectPath(d));
    await assert.rejects(store.openObject(d), NotInStoreError);
    await assert.rejects(store.readRange(d, 0, 10), NotInStoreError);
    assert.equal(await store.findChunk(d), undefined);
    assert.equal(await store.hasObject(d), false);
    await assert.rejects(lstat(store.objectPath(d)), { code: "ENOENT" }, "the link is removed");
    assert.deepEqual(await readFile(outside), secret, "its target is untouched");
    await unlink(outside);
  });

  it("a layer needing a damaged object is absent (a cached pull re-pulls it)", async () => {
    const store = await tempStore();
    const { digest } = await store.writeObject(randomBytes(5000));
    const input = layerInput([digest]);
    await store.putLayer(input, Buffer.from("{}"), Buffer.from(""));
    assert.ok(await store.getLayer(input.diffId));
    await flipByte(store, digest);
    assert.equal(await store.getLayer(input.diffId), undefined);
  });
});
