/**
 * Hostile layers: a blob whose TOC and tar-split are self-consistent and whose every file and
 * chunk digest checks out, but whose tar is not the one the config's diff_id names. Only the
 * rebuild-and-hash step can catch it; the layer must be rejected, no layer record written, and
 * gc must then remove the file objects the failed pull left behind.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { assembleImage, type BuiltLayer, buildLayer } from "../../mock-registry/src/image/build.js";
import { makeTar, type TarFile, textContent } from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { DigestMismatchError } from "../../src/errors.js";
import { pull } from "../../src/pull/pull.js";
import { freshStore, pushTo, testClient } from "./helpers.js";

const FILES: TarFile[] = [
  { name: "etc/", type: "5" },
  { name: "etc/motd", data: textContent(3000, 1) },
  { name: "etc/app.conf", data: textContent(70_000, 2) },
];

/** Rewrite the uname of the tar header at `at` (fixing its checksum): a change no TOC records. */
function withUname(tar: Buffer, at: number, uname: string): Buffer {
  const out = Buffer.from(tar);
  out.fill(0, at + 265, at + 265 + 32);
  out.write(uname, at + 265, "latin1");
  out.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += out[i]!;
  out.write(`${sum.toString(8).padStart(6, "0")}\0 `, at + 148, "latin1");
  return out;
}

describe("hostile layers are rejected by the diff_id check", () => {
  let reg: MockRegistry;
  let honest: BuiltLayer;
  before(async () => {
    reg = await startMockRegistry();
    honest = await buildLayer(makeTar(FILES), "zstd:chunked");
  });
  after(() => reg.close());

  async function expectRejected(repo: string, layer: BuiltLayer, claimedDiffId: string) {
    const hostile: BuiltLayer = { ...layer, diffId: claimedDiffId as BuiltLayer["diffId"] };
    await pushTo(reg, repo, "v1", assembleImage([hostile]));
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      const err = await pull(`${reg.host}/${repo}:v1`, { store, client }).then(
        () => assert.fail("the hostile layer was accepted"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DigestMismatchError, String(err));
      assert.match(err.message, new RegExp(claimedDiffId.slice(7, 19)));
      assert.equal(await store.getLayer(claimedDiffId as BuiltLayer["diffId"]), undefined);
      assert.equal(await store.getLayer(layer.diffId), undefined);
      assert.deepEqual(await store.listLayers(), []);
      // The verified file objects were written before the rebuild failed; nothing keeps them.
      const before = await store.stats();
      assert.ok(before.objects > 0, "the failed pull wrote file objects");
      await store.gc({ waitMs: 2000 });
      const afterGc = await store.stats();
      assert.equal(afterGc.objects, 0);
      assert.equal(afterGc.chunkPointers, 0);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  test("config diff_id of another tar (different file content)", async () => {
    const other = makeTar([FILES[0]!, FILES[1]!, { ...FILES[2]!, data: textContent(70_000, 3) }]);
    const claimed = (await buildLayer(other, "tar")).diffId;
    await expectRejected("hostile/content", honest, claimed);
  });

  test("TOC and tar-split agree with each other and every digest holds, only the tar differs", async () => {
    // The blob is built from a tar whose motd header names user "mallory": files, chunks, TOC
    // (which has no uname field) and tar-split are all consistent; the config names the tar
    // with "root". Partial pull would hand out a tar the publisher never produced.
    const rootTar = makeTar(FILES);
    const motdHeader = 512; // after the etc/ directory header
    const evilTar = withUname(rootTar, motdHeader, "mallory");
    assert.notDeepEqual(evilTar, rootTar);
    const evil = await buildLayer(evilTar, "zstd:chunked");
    const claimed = (await buildLayer(rootTar, "tar")).diffId;
    assert.notEqual(evil.diffId, claimed);
    await expectRejected("hostile/tarsplit", evil, claimed);
  });

  test("the honest layer pulls and verifies (control)", async () => {
    await pushTo(reg, "hostile/control", "v1", assembleImage([honest]));
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      const r = await pull(`${reg.host}/hostile/control:v1`, { store, client });
      assert.equal(r.layers[0]!.mode, "partial");
      assert.equal(r.layers[0]!.verified, "diff-id");
      assert.ok(await store.getLayer(honest.diffId));
      await store.gc({ waitMs: 2000 });
      const s = await store.stats();
      assert.ok(s.objects >= 2, "gc keeps the verified layer's objects");
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
