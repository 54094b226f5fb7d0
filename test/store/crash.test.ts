import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { digestOf } from "../../src/digest.js";
import { listDir, runChild, STORE_MODULE, tempStore } from "./helpers.js";

/** Child: registers a pull, then streams forever into `what` ("object" or "layer"). */
const WRITER = `
  import { openStore } from ${JSON.stringify(STORE_MODULE)};
  const [dir, what] = process.argv.slice(1);
  const store = await openStore(dir);
  await store.beginPull();
  async function* endless() {
    for (let i = 0; ; i++) {
      yield Buffer.alloc(65536, i & 0xff);
      if (i === 3) console.log("writing");
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  if (what === "object") {
    await store.writeObject(endless());
  } else {
    const obj = await store.writeObject(Buffer.from("file content"));
    console.log("object " + obj.digest);
    await store.putLayer({
      diffId: "sha256:" + "ab".repeat(32), compressedDigest: "sha256:" + "cd".repeat(32),
      mediaType: "m", format: "zstd:chunked", verified: "diff-id", objects: [obj.digest],
      uncompressedSize: 1,
    }, Buffer.from("{}"), endless());
  }
`;

function killWhenWriting(text: string, kill: () => void): void {
  if (text.includes("writing")) setTimeout(kill, 30);
}

describe("crash safety", () => {
  it("a writer killed mid-object leaves only a temp file, which gc removes", async () => {
    const store = await tempStore({ timings: { pollMs: 10, waitMs: 5000 } });
    const child = await runChild(WRITER, [store.root, "object"], killWhenWriting);
    assert.equal(child.signal, "SIGKILL", child.stderr);
    const before = await store.stats();
    assert.equal(before.objects, 0);
    assert.equal(before.tempFiles, 1);
    assert.equal(before.activePulls, 0, "dead pull marker is not live");
    const result = await store.gc();
    assert.equal(result.removedTempFiles, 1);
    assert.deepEqual(await listDir(store.layout.tmpDir), []);
    assert.deepEqual(await listDir(store.layout.pullsDir), []);
  });

  it("a writer killed mid-layer leaves no layer; gc removes what it wrote", async () => {
    const store = await tempStore({ timings: { pollMs: 10, waitMs: 5000 } });
    const child = await runChild(WRITER, [store.root, "layer"], killWhenWriting);
    assert.equal(child.signal, "SIGKILL", child.stderr);
    const object = /object (sha256:[0-9a-f]{64})/.exec(child.stdout)![1]!;
    assert.ok(await store.hasObject(object as `sha256:${string}`));
    assert.equal(await store.getLayer(`sha256:${"ab".repeat(32)}`), undefined);
    assert.deepEqual(await store.listLayers(), []);
    const result = await store.gc();
    assert.equal(result.removedObjects, 1);
    assert.ok(result.removedTempFiles >= 1);
    const after = await store.stats();
    assert.deepEqual(
      [after.objects, after.layers, after.tempFiles, after.chunkPointers],
      [0, 0, 0, 0],
    );
    assert.equal(digestOf(Buffer.from("file content")), object);
  });
});
