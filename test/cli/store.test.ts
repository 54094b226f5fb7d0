/** `chunkpull store ls|gc|export` against a store filled by a real pull from the mock registry. */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { digestOf } from "../../src/digest.js";
import { assembleImage, buildLayer, pushImage } from "../../src/image/build.js";
import { appLayerFiles, baseLayerFiles, makeTar } from "../../src/image/sample-app.js";
import { pull } from "../../src/pull/pull.js";
import { openStore } from "../../src/store/index.js";
import { freshStore, tempDir, testClient } from "../pull/helpers.js";
import { runCli, sha256File } from "./helpers.js";

describe("chunkpull store", () => {
  let reg: MockRegistry;
  let storeDir: string;
  let out: string;
  const tars = [makeTar(baseLayerFiles(20)), makeTar(appLayerFiles(1, 0.05))];
  before(async () => {
    reg = await startMockRegistry();
    const layers = [await buildLayer(tars[0]!, "zstd:chunked"), await buildLayer(tars[1]!, "gzip")];
    await pushImage(reg, "s/app", "v1", assembleImage(layers));
    const { dir, store } = await freshStore();
    storeDir = dir;
    await pull(`${reg.host}/s/app:v1`, { store, client: testClient() });
    out = await tempDir("chunkpull-store-cli-");
  });
  after(async () => {
    await reg.close();
    await rm(storeDir, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  });

  it("ls lists the pulled layers", async () => {
    const r = await runCli(["store", "ls", "--store", storeDir, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const { layers, stats } = JSON.parse(r.stdout);
    assert.deepEqual(
      layers.map((l: { diffId: string }) => l.diffId).sort(),
      tars.map((t) => digestOf(t)).sort(),
    );
    assert.equal(stats.layers, 2);
    const text = await runCli(["store", "ls", "--store", storeDir]);
    assert.match(text.stdout, /2 layer\(s\)/);
  });

  it("export writes each layer's exact tar (zstd:chunked partial and gzip full alike)", async () => {
    for (const tar of tars) {
      const file = join(out, `${digestOf(tar).slice(7, 19)}.tar`);
      const r = await runCli(["store", "export", digestOf(tar), "-o", file, "--store", storeDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), digestOf(tar));
      assert.equal(await sha256File(file), digestOf(tar));
    }
    const missing = await runCli([
      "store",
      "export",
      `sha256:${"0".repeat(64)}`,
      "-o",
      join(out, "x.tar"),
      "--store",
      storeDir,
    ]);
    assert.equal(missing.code, 1, "not in the store is not a usage error");
    assert.match(missing.stderr, /not in the store/);
  });

  it("gc removes what no layer needs, and nothing a layer needs", async () => {
    const store = await openStore(storeDir);
    const before = await store.stats();
    const r0 = await runCli(["store", "gc", "--store", storeDir, "--json"]);
    assert.equal(r0.code, 0, r0.stderr);
    assert.equal(JSON.parse(r0.stdout).removedObjects, 0, "everything is referenced");
    assert.ok(await store.removeLayer(digestOf(tars[1]!)));
    const r1 = await runCli(["store", "gc", "--store", storeDir, "--json"]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.ok(JSON.parse(r1.stdout).removedObjects > 0);
    const after = await store.stats();
    assert.ok(after.objects < before.objects);
    const file = join(out, "base.tar");
    const r2 = await runCli([
      "store",
      "export",
      digestOf(tars[0]!),
      "-o",
      file,
      "--store",
      storeDir,
    ]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(await sha256File(file), digestOf(tars[0]!));
  });
});
