import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { type Digest, digestOf } from "../../src/digest.js";
import { DigestMismatchError, FormatError, NotInStoreError } from "../../src/errors.js";
import { layerInput, listDir, runChild, STORE_MODULE, tempStore } from "./helpers.js";

async function* pieces(data: Buffer, size: number, failAt?: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) {
    if (failAt !== undefined && at >= failAt) throw new Error("source broke");
    yield data.subarray(at, at + size);
  }
}

async function collect(stream: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p);
  return Buffer.concat(parts);
}

describe("store objects", () => {
  it("writes, finds and reads an object by its sha256", async () => {
    const store = await tempStore();
    const data = randomBytes(300_000);
    const { digest, size } = await store.writeObject(pieces(data, 65536));
    assert.equal(digest, digestOf(data));
    assert.equal(size, data.length);
    assert.ok(await store.hasObject(digest));
    assert.ok(store.objectPath(digest).includes(`/objects/sha256/${digest.slice(7, 9)}/`));
    assert.deepEqual(await readFile(store.objectPath(digest)), data);
    assert.deepEqual(await collect(await store.openObject(digest)), data);
    assert.deepEqual(await store.readRange(digest, 1000, 5000), data.subarray(1000, 6000));
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
  });

  it("accepts the right expected digest and rejects a wrong one, keeping nothing", async () => {
    const store = await tempStore();
    const data = randomBytes(1000);
    const good = digestOf(data);
    assert.equal((await store.writeObject(data, good)).digest, good);
    const other = randomBytes(1000);
    const wrong: Digest = digestOf(Buffer.from("something else"));
    await assert.rejects(store.writeObject(other, wrong), (err) => {
      assert.ok(err instanceof DigestMismatchError);
      assert.equal(err.expected, wrong);
      assert.equal(err.actual, digestOf(other));
      return true;
    });
    assert.equal(await store.hasObject(wrong), false);
    assert.equal(await store.hasObject(digestOf(other)), false);
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
    assert.equal((await store.stats()).objects, 1);
  });

  it("leaves nothing when the source fails mid-stream", async () => {
    const store = await tempStore();
    const data = randomBytes(200_000);
    await assert.rejects(store.writeObject(pieces(data, 10_000, 100_000)), /source broke/);
    assert.equal(await store.hasObject(digestOf(data)), false);
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
    assert.equal((await store.stats()).objects, 0);
  });

  it("hashes with the expected digest's algorithm", async () => {
    const store = await tempStore();
    const data = Buffer.from("sha512 content");
    const d512 = digestOf(data, "sha512");
    assert.equal((await store.writeObject(data, d512)).digest, d512);
    assert.ok(await store.hasObject(d512));
  });

  it("survives concurrent writers of the same object in one process", async () => {
    const store = await tempStore();
    const data = randomBytes(500_000);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => store.writeObject(pieces(data, 7000), digestOf(data))),
    );
    assert.ok(results.every((r) => r.digest === digestOf(data)));
    assert.deepEqual(await readFile(store.objectPath(digestOf(data))), data);
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
    assert.equal((await store.stats()).objects, 1);
  });

  it("survives two processes writing the same object", async () => {
    const store = await tempStore();
    const seed = randomBytes(16).toString("hex");
    // Both children generate the same 8 MiB from the seed and stream it in 64 KiB pieces.
    const code = `
      import { createHash } from "node:crypto";
      import { openStore } from ${JSON.stringify(STORE_MODULE)};
      const [dir, seed] = process.argv.slice(1);
      const store = await openStore(dir);
      async function* gen() {
        for (let i = 0; i < 128; i++) {
          const block = Buffer.alloc(65536);
          for (let j = 0; j < 2048; j++) createHash("sha256").update(seed + i + ":" + j).digest().copy(block, j * 32);
          yield block;
          await new Promise((r) => setImmediate(r));
        }
      }
      const pull = await store.beginPull();
      const r = await store.writeObject(gen());
      await pull.end();
      console.log(r.digest);
    `;
    const [a, b] = await Promise.all([
      runChild(code, [store.root, seed]),
      runChild(code, [store.root, seed]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const digest = a.stdout.trim() as Digest;
    assert.equal(b.stdout.trim(), digest);
    const stored = await readFile(store.objectPath(digest));
    assert.equal(stored.length, 8 << 20);
    assert.equal(digestOf(stored), digest);
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
  });

  it("reports short and missing objects with typed errors", async () => {
    const store = await tempStore();
    const { digest } = await store.writeObject(Buffer.from("0123456789"));
    await assert.rejects(store.readRange(digest, 5, 10), FormatError);
    const missing = digestOf(Buffer.from("missing"));
    await assert.rejects(store.readRange(missing, 0, 1), NotInStoreError);
    await assert.rejects(store.openObject(missing), NotInStoreError);
    assert.equal(await store.hasObject(missing), false);
  });
  it("writes without a per-object fsync when asked; putLayer is then the barrier", async () => {
    const store = await tempStore();
    const data = randomBytes(10_000);
    const { digest } = await store.writeObject(data, digestOf(data), { sync: false });
    assert.ok(
      await store.hasObject(digest, data.length),
      "stored, stamped, verified like any object",
    );
    await assert.rejects(
      store.writeObject(Buffer.from("other"), digestOf(data), { sync: false }),
      DigestMismatchError,
    );
    const input = layerInput([digest], "unsynced");
    await store.putLayer(input, Buffer.from("{}"), Buffer.alloc(0));
    assert.ok(await store.getLayer(input.diffId));
  });
});
