/**
 * `chunkpull store ls|du|rm|verify|export` on a store filled by real pulls from the mock
 * registry: references and diff_ids listed, digest prefixes, removal by reference or digest,
 * verify finding and repairing damage, and read-only commands that never create a store.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmod,
  mkdtemp,
  open,
  readdir,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import type { Digest } from "../../src/digest.js";
import { pushImage } from "../../src/image/build.js";
import { pull } from "../../src/pull/pull.js";
import { openStore, type Store } from "../../src/store/index.js";
import { freshStore, type SampleImages, sampleImages, testClient } from "../pull/helpers.js";
import { runCli, sha256File } from "./helpers.js";

describe("chunkpull store commands", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  const dirs: string[] = [];
  let scratch: string;

  async function filledStore(): Promise<Store> {
    const { dir, store } = await freshStore();
    dirs.push(dir);
    await pull(`${reg.host}/cmd/app:v1`, { store, client: testClient() });
    await pull(`${reg.host}/cmd/app:v2`, { store, client: testClient() });
    return store;
  }

  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushImage(reg, "cmd/app", "v1", images.v1);
    await pushImage(reg, "cmd/app", "v2", images.v2);
    scratch = await mkdtemp(join(tmpdir(), "chunkpull-store-cmd-"));
    dirs.push(scratch);
  });
  after(async () => {
    await reg.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("ls names the images a pull recorded, with their layers' diff_ids", async () => {
    const store = await filledStore();
    const r = await runCli(["store", "ls", "--store", store.root, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(
      doc.images.map((i: { reference: string }) => i.reference),
      [`${reg.host}/cmd/app:v1`, `${reg.host}/cmd/app:v2`],
    );
    assert.deepEqual(
      doc.images[0].diffIds,
      images.v1.layers.map((l) => l.diffId),
    );
    const text = await runCli(["store", "ls", "--store", store.root]);
    assert.match(text.stdout, new RegExp(`image ${reg.host}/cmd/app:v1`));
    assert.ok(text.stdout.includes(`${images.v1.layers[1]!.diffId}`), text.stdout);
    assert.match(text.stdout, /3 layer\(s\)/);
  });

  it("export and rm take digest prefixes; a prefix that matches nothing is ENOTINSTORE", async () => {
    const store = await filledStore();
    const app1 = images.v1.layers[1]!.diffId;
    const file = join(scratch, "app1.tar");
    const r = await runCli([
      "store",
      "export",
      app1.slice(7, 19),
      "-o",
      file,
      "--store",
      store.root,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await sha256File(file), app1);
    const none = await runCli([
      "store",
      "export",
      "ffffffffffff",
      "-o",
      file,
      "--store",
      store.root,
    ]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^chunkpull: .*not in the store \[ENOTINSTORE\]\n$/);
    const short = await runCli(["store", "export", "ab", "-o", file, "--store", store.root]);
    assert.equal(short.code, 2, "too short a prefix is a usage error");
    const rmLayer = await runCli([
      "store",
      "rm",
      app1.slice(0, 20),
      "--store",
      store.root,
      "--json",
    ]);
    assert.equal(rmLayer.code, 0, rmLayer.stderr);
    const out = JSON.parse(rmLayer.stdout);
    assert.deepEqual(out.removed.layers, [app1]);
    assert.ok(out.gc.removedObjects > 0, "rm runs gc");
    assert.equal(await store.getLayer(app1), undefined);
  });

  it("rm REF removes the image and the layers no other image names; du reports sizes", async () => {
    const store = await filledStore();
    const du0 = JSON.parse((await runCli(["store", "du", "--store", store.root, "--json"])).stdout);
    const v1 = du0.images.find((i: { name: string }) => i.name.endsWith(":v1"));
    assert.ok(
      v1.bytes > 0 && v1.exclusiveBytes > 0 && v1.exclusiveBytes < v1.bytes,
      JSON.stringify(v1),
    );
    const r = await runCli(["store", "rm", `${reg.host}/cmd/app:v1`, "--store", store.root]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /removed image .*cmd\/app:v1/);
    assert.equal(await store.getLayer(images.v1.layers[1]!.diffId), undefined);
    assert.ok(
      await store.getLayer(images.base.diffId),
      "the shared base layer stays (v2 names it)",
    );
    assert.ok(await store.getLayer(images.v2.layers[1]!.diffId));
    const ls = JSON.parse((await runCli(["store", "ls", "--store", store.root, "--json"])).stdout);
    assert.deepEqual(
      ls.images.map((i: { reference: string }) => i.reference),
      [`${reg.host}/cmd/app:v2`],
    );
    const text = await runCli(["store", "du", "--store", store.root]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /image .*cmd\/app:v2/);
  });

  it("verify finds damaged objects, pointers and records; --repair drops them; pulls go on", async () => {
    const store = await filledStore();
    const clean = await runCli(["store", "verify", "--store", store.root]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /0 problem\(s\)/);
    const app2 = images.v2.layers[1]!.diffId;
    const victim = (await store.getLayer(app2))!.record.objects[0]! as Digest;
    const path = store.objectPath(victim);
    await chmod(path, 0o644);
    const fh = await open(path, "r+");
    await fh.write(Buffer.from("X"), 0, 1, 0);
    await fh.close();
    const pointers = join(store.layout.chunksDir, "sha256");
    const fan = (await readdir(pointers))[0]!;
    const pointer = join(pointers, fan, (await readdir(join(pointers, fan)))[0]!);
    await unlink(pointer);
    await symlink("garbage", pointer);
    const record = join(store.layout.layerDir(images.base.diffId), "record.json");
    await writeFile(record, "{");
    const bad = await runCli(["store", "verify", "--store", store.root, "--json"]);
    assert.equal(bad.code, 1, bad.stderr);
    const report = JSON.parse(bad.stdout);
    const kinds = report.problems.map((p: { kind: string; name: string }) => `${p.kind} ${p.name}`);
    assert.ok(kinds.includes(`object ${victim}`), kinds.join("\n"));
    assert.ok(kinds.includes(`layer ${images.base.diffId}`), kinds.join("\n"));
    assert.ok(kinds.includes(`layer ${app2}`), "the layer that needs the damaged object");
    assert.ok(
      kinds.some((k: string) => k.startsWith("pointer ")),
      kinds.join("\n"),
    );
    const fixed = await runCli(["store", "verify", "--repair", "--store", store.root]);
    assert.equal(fixed.code, 0, fixed.stderr);
    const again = await runCli(["store", "verify", "--store", store.root]);
    assert.equal(again.code, 0, again.stdout);
    const r = await pull(`${reg.host}/cmd/app:v2`, { store, client: testClient() });
    assert.ok(
      r.layers.every((l) => l.mode !== "cached"),
      "both layers were pulled again",
    );
    const final = await runCli(["store", "verify", "--store", store.root]);
    assert.equal(final.code, 0, final.stdout);
  });

  it("read-only commands never create a store; unusable stores are one line with a code", async () => {
    const typo = join(scratch, "typo");
    for (const cmd of ["ls", "du", "gc", "verify"]) {
      const r = await runCli(["store", cmd, "--store", typo]);
      assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /^chunkpull: no store at .*typo \[ENOSTORE\]\n$/);
    }
    await assert.rejects(stat(typo), { code: "ENOENT" }, "nothing was created");
    const afile = join(scratch, "afile");
    await writeFile(afile, "x");
    for (const args of [
      ["store", "ls"],
      ["pull", `${reg.host}/cmd/app:v1`, "--plain-http"],
    ]) {
      const r = await runCli([...args, "--store", afile]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^chunkpull: store .*afile is not a directory \[ESTORE\]\n$/);
    }
  });

  it("works on a read-only store (ls, du, verify, export)", async (t) => {
    const store = await filledStore();
    const ro = join(scratch, "ro");
    try {
      execFileSync("mkdir", ["-p", ro]);
      execFileSync("mount", ["--bind", store.root, ro]);
      execFileSync("mount", ["-o", "remount,bind,ro", ro]);
    } catch {
      await rm(ro, { recursive: true, force: true });
      t.skip("needs root and bind mounts (a read-only store cannot be made otherwise as root)");
      return;
    }
    try {
      for (const cmd of ["ls", "du", "verify"]) {
        const r = await runCli(["store", cmd, "--store", ro]);
        assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      }
      const app1 = images.v1.layers[1]!.diffId;
      const file = join(scratch, "ro.tar");
      const r = await runCli(["store", "export", app1, "-o", file, "--store", ro]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await sha256File(file), app1);
      const gc = await runCli(["store", "gc", "--store", ro]);
      assert.equal(gc.code, 1);
      assert.match(gc.stderr, /^chunkpull: .*EROFS.* \[ESTORE\]\n$/);
      assert.equal((await openStore(store.root)).root, store.root);
    } finally {
      execFileSync("umount", [ro]);
    }
  });
});
