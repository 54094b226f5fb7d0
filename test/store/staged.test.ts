/**
 * Staged object writes (one durability barrier per batch): nothing is visible before commit,
 * wrong content is refused, a crashed writer leaves only temp files for gc.
 */
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import { describe, it } from "node:test";
import { digestOf } from "../../src/digest.js";
import { DigestMismatchError } from "../../src/errors.js";
import { tempName, tempOwner } from "../../src/store/atomic.js";
import { OBJECT_STAMP_S } from "../../src/store/objects.js";
import { StagedObjects } from "../../src/store/staged.js";
import { listDir, runChild, STORE_MODULE, tempStore } from "./helpers.js";

describe("staged objects", () => {
  for (const barrier of ["syncfs", "fsync"] as const) {
    it(`objects appear only at commit, complete and read-only (${barrier} barrier)`, async () => {
      const store = await tempStore();
      assert.equal(await store.hasNoObjects(), true);
      const staged = new StagedObjects(store.layout, barrier);
      const small = Buffer.from("small file");
      const big = Buffer.alloc(3 << 20, 7);
      await staged.add(small, digestOf(small));
      async function* pieces() {
        for (let i = 0; i < big.length; i += 65536) yield big.subarray(i, i + 65536);
      }
      const r = await staged.add(pieces());
      assert.equal(r.digest, digestOf(big));
      assert.equal(staged.size, 2);
      assert.equal(await store.hasObject(digestOf(small)), false, "visible before commit");
      assert.equal((await listDir(store.layout.tmpDir)).length, 2);
      const committed = await staged.commit();
      assert.deepEqual(committed, [digestOf(small), digestOf(big)]);
      assert.deepEqual(await readFile(store.objectPath(digestOf(small))), small);
      assert.deepEqual(await readFile(store.objectPath(digestOf(big))), big);
      const st = await stat(store.objectPath(digestOf(big)));
      assert.equal(st.mode & 0o777, 0o444);
      assert.equal(st.mtimeMs, OBJECT_STAMP_S * 1000, "carries the store's integrity stamp");
      assert.deepEqual(await listDir(store.layout.tmpDir), []);
      assert.equal(await store.hasNoObjects(), false);
    });
  }

  it("refuses content that does not match its digest and keeps nothing of it", async () => {
    const store = await tempStore();
    const staged = store.stageObjects();
    const data = Buffer.from("payload");
    await assert.rejects(staged.add(data, digestOf(Buffer.from("other"))), DigestMismatchError);
    assert.equal(staged.size, 0);
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
    assert.deepEqual(await staged.commit(), []);
    assert.equal(await store.hasNoObjects(), true);
  });

  it("a source that fails mid-way leaves no temp file and stages nothing", async () => {
    const store = await tempStore();
    const staged = store.stageObjects();
    async function* failing() {
      yield Buffer.alloc(100_000, 1);
      yield Buffer.alloc(100_000, 2);
      throw new Error("connection reset");
    }
    await assert.rejects(staged.add(failing()), /connection reset/);
    assert.equal(staged.size, 0);
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
  });

  it("pieces written synchronously are one object; a wrong digest keeps nothing", async () => {
    const store = await tempStore();
    const staged = store.stageObjects();
    const pieces = [Buffer.from("one "), Buffer.from("two "), Buffer.from("three")];
    const whole = Buffer.concat(pieces);
    assert.throws(
      () => staged.addSync(pieces, digestOf(Buffer.from("other"))),
      DigestMismatchError,
    );
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
    assert.equal(staged.addSync(pieces).digest, digestOf(whole));
    assert.deepEqual(await staged.commit(), [digestOf(whole)]);
    assert.deepEqual(await readFile(store.objectPath(digestOf(whole))), whole);
    const st = await stat(store.objectPath(digestOf(whole)));
    assert.equal(st.mtimeMs, OBJECT_STAMP_S * 1000, "stamped before the rename");
  });

  it("temp names are unique without a random draw each, and name the writer's pid", async () => {
    const names = new Set<string>();
    for (let i = 0; i < 10_000; i++) names.add(basename(tempName("/x")));
    assert.equal(names.size, 10_000);
    for (const n of names) assert.equal(tempOwner(n), process.pid, n);
  });

  it("discard removes what was staged", async () => {
    const store = await tempStore();
    const staged = store.stageObjects();
    await staged.add(Buffer.from("a"));
    await staged.add(Buffer.from("b"));
    await staged.discard();
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
    assert.equal(await store.hasObject(digestOf(Buffer.from("a"))), false);
  });

  it("a writer killed before commit leaves only temp files, which gc removes", async () => {
    const store = await tempStore({ timings: { pollMs: 10, waitMs: 5000 } });
    const child = await runChild(
      `
      import { openStore } from ${JSON.stringify(STORE_MODULE)};
      const store = await openStore(process.argv[1]);
      await store.beginPull();
      const staged = store.stageObjects();
      for (let i = 0; i < 5; i++) await staged.add(Buffer.from("object " + i));
      console.log("staged");
      await new Promise(() => {});
      `,
      [store.root],
      (text, kill) => {
        if (text.includes("staged")) kill();
      },
    );
    assert.equal(child.signal, "SIGKILL", child.stderr);
    assert.equal(await store.hasNoObjects(), true);
    assert.equal((await listDir(store.layout.tmpDir)).length, 5);
    const result = await store.gc();
    assert.equal(result.removedTempFiles, 5);
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
  });
});
