import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, readlink, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { describe, it } from "node:test";
import { digestOf } from "../../src/digest.js";
import type { FileRef } from "../../src/formats/layer-index.js";
import { decodePointer, encodePointer } from "../../src/store/chunks.js";
import { tempStore } from "./helpers.js";

describe("chunk pointers", () => {
  it("finds a chunk through its pointer and verifies it", async () => {
    const store = await tempStore();
    const data = randomBytes(10_000);
    const { digest } = await store.writeObject(data);
    const part = data.subarray(4096, 8192);
    const chunk = digestOf(part);
    assert.equal(await store.hasChunk(chunk), false);
    assert.equal(await store.findChunk(chunk), undefined);
    assert.equal(
      await store.putChunkPointer(chunk, { object: digest, offset: 4096, length: 4096 }),
      true,
    );
    assert.equal(
      await store.putChunkPointer(chunk, { object: digest, offset: 4096, length: 4096 }),
      false,
    );
    assert.ok(await store.hasChunk(chunk));
    assert.deepEqual(await store.findChunk(chunk), part);
    assert.deepEqual(await store.getChunkPointer(chunk), {
      object: digest,
      offset: 4096,
      length: 4096,
    });
  });

  it("ignores and removes a pointer whose object was corrupted", async () => {
    const store = await tempStore();
    const data = randomBytes(10_000);
    const { digest } = await store.writeObject(data);
    const chunk = digestOf(data.subarray(0, 5000));
    await store.putChunkPointer(chunk, { object: digest, offset: 0, length: 5000 });
    const path = store.objectPath(digest);
    await chmod(path, 0o644);
    const damaged = Buffer.from(data);
    damaged[100] = damaged[100]! ^ 0xff;
    await writeFile(path, damaged);
    assert.equal(await store.findChunk(chunk), undefined);
    assert.equal(await store.getChunkPointer(chunk), undefined, "bad pointer removed");
  });

  it("ignores pointers to missing objects, wrong ranges and malformed pointers", async () => {
    const store = await tempStore();
    const data = randomBytes(1000);
    const { digest } = await store.writeObject(data);
    const missing = digestOf(Buffer.from("not stored"));
    const c1 = digestOf(Buffer.from("c1"));
    await store.putChunkPointer(c1, { object: missing, offset: 0, length: 2 });
    assert.equal(await store.findChunk(c1), undefined);
    const c2 = digestOf(data.subarray(0, 10));
    await store.putChunkPointer(c2, { object: digest, offset: 1, length: 10 });
    assert.equal(await store.findChunk(c2), undefined);
    await store.putChunkPointer(c2, { object: digest, offset: 990, length: 100 });
    assert.equal(await store.findChunk(c2), undefined, "past the end of the object");
    const c3 = digestOf(data.subarray(0, 20));
    await mkdir(dirname(store.layout.chunk(c3)), { recursive: true });
    await writeFile(store.layout.chunk(c3), "{not json");
    assert.equal(await store.findChunk(c3), undefined);
    assert.equal(await store.getChunkPointer(c3), undefined);
  });

  it("finds a chunk equal to a whole stored object without a pointer", async () => {
    const store = await tempStore();
    const data = randomBytes(3000);
    const { digest } = await store.writeObject(data);
    assert.ok(await store.hasChunk(digest));
    assert.deepEqual(await store.findChunk(digest), data);
  });

  it("indexes every digest-carrying data chunk of a file", async () => {
    const store = await tempStore();
    const data = Buffer.concat([randomBytes(4000), Buffer.alloc(3000), randomBytes(5000)]);
    const { digest } = await store.writeObject(data);
    const slice = (a: number, b: number) => data.subarray(a, b);
    const file: FileRef = {
      name: "usr/bin/tool",
      size: data.length,
      digest,
      chunks: [
        {
          offset: 0,
          end: 100,
          fileOffset: 0,
          size: 4000,
          digest: digestOf(slice(0, 4000)),
          zeros: false,
        },
        {
          offset: 100,
          end: 120,
          fileOffset: 4000,
          size: 3000,
          digest: digestOf(slice(4000, 7000)),
          zeros: true,
        },
        {
          offset: 120,
          end: 300,
          fileOffset: 7000,
          size: 5000,
          digest: digestOf(slice(7000, 12000)),
          zeros: false,
        },
      ],
    };
    assert.equal(await store.indexFile(file, digest), 2);
    assert.equal(await store.indexFile(file, digest), 0, "already indexed");
    assert.deepEqual(await store.findChunk(file.chunks[0]!.digest!), slice(0, 4000));
    assert.deepEqual(await store.findChunk(file.chunks[2]!.digest!), slice(7000, 12000));
    assert.equal(
      await store.getChunkPointer(file.chunks[1]!.digest!),
      undefined,
      "zeros not indexed",
    );
    const link = store.layout.chunk(file.chunks[2]!.digest!);
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.deepEqual(decodePointer(await readlink(link)), {
      object: digest,
      offset: 7000,
      length: 5000,
    });
  });

  it("encodes pointers compactly and rejects malformed text", () => {
    const object = digestOf(Buffer.from("o"));
    const p = { object, offset: 123_456_789, length: 1_048_576 };
    const text = encodePointer(p);
    assert.ok(text.length < 60, `fits an ext4 fast symlink: ${text}`);
    assert.deepEqual(decodePointer(text), p);
    const p512 = { object: digestOf(Buffer.from("o"), "sha512"), offset: 0, length: 1 };
    assert.deepEqual(decodePointer(encodePointer(p512)), p512);
    for (const bad of [
      "",
      "x.1",
      `${text}.1`,
      text.replace(".", "/"),
      "AAAA.1.1",
      "md5:AAAA.1.1",
    ]) {
      assert.equal(decodePointer(bad), undefined, bad);
    }
  });
});
