/**
 * `chunkpull push SRC REF --convert ...` against the real distribution registry: gzip images in
 * OCI layouts are pushed as zstd:chunked, then a pull of v2 into a store holding v1 fetches only
 * the files that changed; a docker archive is pushed as eStargz and pulls verified.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { assembleImage, type BuiltImage, buildLayer } from "../../mock-registry/src/image/build.js";
import {
  appLayerFiles,
  baseLayerFiles,
  makeTar,
  type TarFile,
} from "../../mock-registry/src/image/sample-app.js";
import { hexOf } from "../../src/digest.js";
import { pull } from "../../src/pull/pull.js";
import { type DockerRegistry, startDockerRegistry, toolSkip } from "../helpers/docker-registry.js";
import { APP_SCALE, BASE_FILES, freshStore, tempDir, testClient } from "../pull/helpers.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const skip = toolSkip(["docker-registry", "skopeo"]);

async function writeLayout(dir: string, tag: string, image: BuiltImage): Promise<void> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(blobs, hexOf(image.configDescriptor.digest)), image.config);
  for (const l of image.layers) await writeFile(join(blobs, hexOf(l.descriptor.digest)), l.blob);
  await writeFile(join(blobs, hexOf(image.manifestDigest)), image.manifest);
  const index = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: image.mediaType,
        digest: image.manifestDigest,
        size: image.manifest.length,
        annotations: { "org.opencontainers.image.ref.name": tag },
      },
    ],
  };
  await writeFile(join(dir, "index.json"), JSON.stringify(index));
}

async function cli(args: string[]): Promise<string> {
  return (await run(process.execPath, [MAIN, ...args], { maxBuffer: 1 << 24 })).stdout;
}

/** Regular files of v2's app layer whose name and bytes v1 has too. */
function unchangedFiles(
  v1: TarFile[],
  v2: TarFile[],
): { same: number; total: number; changedBytes: number } {
  const old = new Map(v1.filter((f) => (f.type ?? "0") === "0").map((f) => [f.name, f.data]));
  let same = 0;
  let total = 0;
  let changedBytes = 0;
  for (const f of v2) {
    if ((f.type ?? "0") !== "0") continue;
    total++;
    const before = old.get(f.name);
    if (before && f.data && Buffer.compare(before, f.data) === 0) same++;
    else changedBytes += f.data?.length ?? 0;
  }
  return { same, total, changedBytes };
}

describe("chunkpull push --convert", { skip }, () => {
  let reg: DockerRegistry;
  let dir: string;
  before(async () => {
    reg = await startDockerRegistry();
    dir = await tempDir("chunkpull-push-");
    const base = await buildLayer(makeTar(baseLayerFiles(BASE_FILES)), "gzip");
    for (const v of [1, 2]) {
      const app = await buildLayer(makeTar(appLayerFiles(v, APP_SCALE)), "gzip");
      await writeLayout(join(dir, `v${v}`), `v${v}`, assembleImage([base, app]));
    }
  });
  after(async () => {
    await reg?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("gzip layouts pushed as zstd:chunked: v2 after v1 fetches only the changed files", async () => {
    for (const v of [1, 2]) {
      const out = JSON.parse(
        await cli([
          "push",
          `oci:${join(dir, `v${v}`)}:v${v}`,
          `${reg.host}/conv/app:v${v}`,
          "--convert",
          "zstd:chunked",
          "--plain-http",
          "--json",
        ]),
      );
      assert.equal(out.layers.length, 2);
      for (const l of out.layers) {
        assert.equal(l.mediaType, "application/vnd.oci.image.layer.v1.tar+zstd");
        assert.equal(l.converted, true);
      }
    }
    // skopeo (containers/image) reads what was pushed, chunked annotations included.
    const raw = JSON.parse(
      (
        await run("skopeo", [
          "inspect",
          "--tls-verify=false",
          "--raw",
          `docker://${reg.host}/conv/app:v2`,
        ])
      ).stdout,
    );
    for (const l of raw.layers) {
      assert.ok(
        l.annotations["io.github.containers.zstd-chunked.manifest-checksum"],
        "TOC annotation",
      );
    }

    if (process.getuid?.() === 0) {
      // containers/storage stores the converted layers (decompressing each and checking it
      // against the config's diff_id): vfs driver, in a private root.
      const storage = `[vfs@${join(dir, "cs-root")}+${join(dir, "cs-run")}]conv/app:v2`;
      await run("skopeo", [
        "copy",
        "--src-tls-verify=false",
        `docker://${reg.host}/conv/app:v2`,
        `containers-storage:${storage}`,
      ]);
      const stored = JSON.parse(
        (await run("skopeo", ["inspect", `containers-storage:${storage}`])).stdout,
      );
      assert.equal(stored.Layers.length, 2);
    }

    const { dir: storeDir, store } = await freshStore();
    const client = testClient();
    try {
      const r1 = await pull(`${reg.host}/conv/app:v1`, { store, client });
      for (const l of r1.layers) {
        assert.equal(l.format, "zstd:chunked");
        assert.equal(l.verified, "diff-id");
      }
      const r2 = await pull(`${reg.host}/conv/app:v2`, { store, client });
      assert.equal(r2.layers[0]!.mode, "cached");
      const app = r2.layers[1]!;
      assert.equal(app.mode, "partial");
      assert.equal(app.verified, "diff-id");
      const expect = unchangedFiles(appLayerFiles(1, APP_SCALE), appLayerFiles(2, APP_SCALE));
      assert.ok(expect.same > 0 && expect.same < expect.total, "the versions share some files");
      assert.equal(app.filesTotal, expect.total);
      assert.ok(
        app.filesFromStore >= expect.same,
        `${app.filesFromStore} from store, ${expect.same} unchanged`,
      );
      // The changed files (compressed, so at most their size) plus the TOC and tar-split.
      assert.ok(
        app.bytesFetched < expect.changedBytes + 64 * 1024,
        `fetched ${app.bytesFetched}, changed files ${expect.changedBytes} bytes, layer ${app.size}`,
      );
      assert.ok(app.bytesFetched < app.size / 2, `fetched ${app.bytesFetched} of ${app.size}`);
    } finally {
      await client.close();
      await rm(storeDir, { recursive: true, force: true });
    }
  });

  test("a docker archive pushed as eStargz: new diff_ids in the config, pulls verified", async () => {
    const archive = join(dir, "v1.tar");
    await cli([
      "pull",
      `${reg.host}/conv/app:v1`,
      "--plain-http",
      "--quiet",
      "--store",
      join(dir, "store-archive"),
      "--output",
      `docker-archive:${archive}`,
    ]);
    const out = JSON.parse(
      await cli([
        "push",
        `docker-archive:${archive}`,
        `${reg.host}/esgz/app:v1`,
        "--convert",
        "estargz",
        "--plain-http",
        "--json",
      ]),
    );
    const { dir: storeDir, store } = await freshStore();
    const client = testClient();
    try {
      const r = await pull(`${reg.host}/esgz/app:v1`, { store, client });
      assert.equal(r.manifestDigest, out.manifestDigest);
      assert.deepEqual(
        r.config.rootfs.diff_ids,
        out.layers.map((l: { diffId: string }) => l.diffId),
      );
      for (const l of r.layers) {
        assert.equal(l.format, "estargz");
        assert.equal(l.verified, "diff-id");
      }
    } finally {
      await client.close();
      await rm(storeDir, { recursive: true, force: true });
    }
  });
});
