import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, symlink, unlink, writeFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { digestOf } from "../../src/digest.js";
import { NotInStoreError } from "../../src/errors.js";
import { tempStore } from "./helpers.js";

async function filled(count: number, size: (i: number) => number) {
  const store = await tempStore();
  const objects = [];
  for (let i = 0; i < count; i++) {
    const data = randomBytes(size(i));
    const { digest } = await store.writeObject(data);
    objects.push({ digest, size: data.length, data });
  }
  return { store, objects };
}

/** Overwrite an object in place with `data` (same name, the stamp kept by a careless tool). */
async function tamper(path: string, data: Buffer): Promise<void> {
  await chmod(path, 0o644);
  await writeFile(path, data);
}

describe("store read-ahead of small objects", () => {
  it("gives every object's bytes in order, also when the caller skips some", async () => {
    const { store, objects } = await filled(40, (i) => (i * 7919) % 300_000);
    const ahead = store.readAhead(objects);
    for (const i of [0, 1, 2, 5, 6, 20, 39]) {
      const got = Buffer.concat(await ahead.take(i));
      assert.deepEqual(got, objects[i]!.data, `object ${i}`);
    }
    await assert.rejects(() => ahead.take(3), RangeError);
  });

  it("refuses a damaged object as a miss and removes it; the rest still read", async () => {
    const { store, objects } = await filled(6, () => 5000);
    const bad = objects[2]!;
    const path = store.objectPath(bad.digest);
    await tamper(path, Buffer.concat([bad.data.subarray(0, 4999), Buffer.from("!")]));
    const ahead = store.readAhead(objects);
    assert.deepEqual(Buffer.concat(await ahead.take(0)), objects[0]!.data);
    await assert.rejects(() => ahead.take(2), NotInStoreError);
    assert.equal(await store.hasObject(bad.digest), false, "the damaged object was removed");
    assert.deepEqual(Buffer.concat(await ahead.take(3)), objects[3]!.data);
  });

  it("treats a longer, shorter, missing, symlinked or FIFO object as a miss", async () => {
    const { store, objects } = await filled(5, () => 3000);
    const paths = objects.map((o) => store.objectPath(o.digest));
    await tamper(paths[0]!, Buffer.concat([objects[0]!.data, Buffer.from("x")]));
    await tamper(paths[1]!, objects[1]!.data.subarray(0, 2999));
    await unlink(paths[2]!);
    await unlink(paths[3]!);
    await symlink(paths[4]!, paths[3]!);
    await unlink(paths[4]!);
    execFileSync("mkfifo", [paths[4]!]);
    const ahead = store.readAhead(objects);
    for (let i = 0; i < 5; i++) {
      await assert.rejects(() => ahead.take(i), NotInStoreError, `object ${i}`);
    }
  });

  it("reads an empty object as no bytes", async () => {
    const store = await tempStore();
    const { digest } = await store.writeObject(Buffer.alloc(0));
    assert.equal(digest, digestOf(Buffer.alloc(0)));
    const got = await store.readAhead([{ digest, size: 0 }]).take(0);
    assert.equal(Buffer.concat(got).length, 0);
  });
});
