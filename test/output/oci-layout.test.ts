import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { assembleImage, buildLayer, pushImage } from "../../mock-registry/src/image/build.js";
import {
  appLayerFiles,
  baseLayerFiles,
  makeTar,
} from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { digestOf, hexOf } from "../../src/digest.js";
import { UnsupportedError } from "../../src/errors.js";
import { storedImage } from "../../src/output/image.js";
import { storedLayerTar } from "../../src/output/layer-tar.js";
import { writeOciLayout } from "../../src/output/oci-layout.js";
import { pull } from "../../src/pull/pull.js";
import { toolSkip } from "../helpers/docker-registry.js";
import { freshStore, tempDir, testClient } from "../pull/helpers.js";

const run = promisify(execFile);

describe("OCI image layout output", () => {
  let reg: MockRegistry;
  const tars = [makeTar(baseLayerFiles(30)), makeTar(appLayerFiles(1, 0.1))];
  before(async () => {
    reg = await startMockRegistry();
    // One partial-pulled (zstd:chunked) and one full-pulled (gzip) layer in the same image.
    const layers = [await buildLayer(tars[0]!, "zstd:chunked"), await buildLayer(tars[1]!, "gzip")];
    await pushImage(reg, "out/app", "v1", assembleImage(layers));
    await pushImage(reg, "out/app", "gz", assembleImage([await buildLayer(tars[0]!, "estargz")]));
  });
  after(() => reg.close());

  test("layers are the exact original tars, under their diff_ids; the config is unchanged", async () => {
    const { dir, store } = await freshStore();
    const out = await tempDir("chunkpull-layout-");
    try {
      const r = await pull(`${reg.host}/out/app:v1`, { store, client: testClient() });
      const image = storedImage(store, r.configBytes, r.config.rootfs.diff_ids);
      const written = await writeOciLayout(out, image, { refName: "v1" });
      assert.deepEqual(
        r.layers.map((l) => l.mode),
        ["partial", "full"],
      );
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
      assert.equal(index.manifests[0].digest, written.manifestDigest);
      assert.equal(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "v1");
      const blob = (d: string) => readFile(join(out, "blobs", "sha256", hexOf(d as never)));
      const manifestBytes = await blob(written.manifestDigest);
      assert.equal(digestOf(manifestBytes), written.manifestDigest);
      const manifest = JSON.parse(manifestBytes.toString());
      assert.equal(manifest.config.digest, r.configDigest);
      assert.equal(digestOf(await blob(r.configDigest)), r.configDigest);
      for (const [i, desc] of manifest.layers.entries()) {
        assert.equal(desc.mediaType, "application/vnd.oci.image.layer.v1.tar");
        assert.equal(desc.digest, r.layers[i]!.diffId);
        assert.deepEqual(await blob(desc.digest), tars[i], `layer ${i} is the original tar`);
      }
      if (toolSkip(["skopeo"]) === false) {
        const { stdout } = await run("skopeo", ["inspect", `oci:${out}:v1`]);
        assert.equal(JSON.parse(stdout).Layers.length, 2);
        const copy = await tempDir("chunkpull-skopeo-");
        await run("skopeo", ["copy", `oci:${out}:v1`, `dir:${copy}`]);
        await rm(copy, { recursive: true, force: true });
      } else if (process.env.CI) {
        assert.fail("skopeo is required in CI");
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(out, { recursive: true, force: true });
    }
  });

  test("a layer accepted on its TOC alone cannot be exported as an exact tar", async () => {
    const { dir, store } = await freshStore();
    try {
      const r = await pull(`${reg.host}/out/app:gz`, {
        store,
        client: testClient(),
        verify: "toc",
      });
      assert.equal(r.layers[0]!.verified, "toc");
      await assert.rejects(async () => {
        for await (const _ of storedLayerTar(store, r.layers[0]!.diffId)) {
          // nothing
        }
      }, UnsupportedError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a damaged object in the store is caught before the layer tar is complete", async () => {
    const { dir, store } = await freshStore();
    try {
      const r = await pull(`${reg.host}/out/app:v1`, { store, client: testClient() });
      const layer = (await store.getLayer(r.layers[1]!.diffId))!;
      const object = layer.record.objects[0]!;
      const path = store.objectPath(object);
      const { chmod, writeFile } = await import("node:fs/promises");
      await chmod(path, 0o644);
      const bytes = await readFile(path);
      bytes[0] = bytes[0]! ^ 0xff;
      await writeFile(path, bytes);
      await assert.rejects(async () => {
        for await (const _ of storedLayerTar(store, r.layers[1]!.diffId)) {
          // nothing
        }
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an existing layout keeps its other images; the same tag is replaced", async () => {
    const out = await tempDir("chunkpull-layout-");
    try {
      const image = (tar: Buffer, n: number) => ({
        configBytes: Buffer.from(
          JSON.stringify({ os: "linux", rootfs: { type: "layers", diff_ids: [digestOf(tar)] }, n }),
        ),
        diffIds: [digestOf(tar)],
        layerTar: async function* () {
          yield tar;
        },
      });
      const a = await writeOciLayout(out, image(tars[0]!, 1), { refName: "a" });
      const b = await writeOciLayout(out, image(tars[1]!, 2), { refName: "b" });
      const a2 = await writeOciLayout(out, image(tars[1]!, 3), { refName: "a" });
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
      const byName = Object.fromEntries(
        index.manifests.map((m: { digest: string; annotations: Record<string, string> }) => [
          m.annotations["org.opencontainers.image.ref.name"],
          m.digest,
        ]),
      );
      assert.deepEqual(byName, { b: b.manifestDigest, a: a2.manifestDigest });
      assert.notEqual(a.manifestDigest, a2.manifestDigest);
      // A layer stream that does not match its diff_id leaves no blob under that name.
      const bad = { ...image(tars[0]!, 4), diffIds: [digestOf(tars[1]!)] };
      const wrong = async function* () {
        yield tars[0]!;
        throw new Error("layer tar does not match its diff_id");
      };
      await assert.rejects(writeOciLayout(join(out, "bad"), { ...bad, layerTar: wrong }));
      const { readdir } = await import("node:fs/promises");
      assert.deepEqual(
        await readdir(join(out, "bad", "blobs", "sha256")).then((l) =>
          l.filter((n) => n === hexOf(digestOf(tars[1]!))),
        ),
        [],
      );
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
