/**
 * `chunkpull pull --output oci:DIR:TAG --rootfs ROOT` and `--output docker-archive:FILE` against
 * the real distribution registry (Debian `docker-registry`), checked with the tools users have:
 * skopeo reads both outputs, and umoci's unpack of the layout, our ROOT and GNU tar's extraction
 * of the original layer tars are the same tree (types, modes, owners, sizes, link targets).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { lstat, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import {
  assembleImage,
  buildLayer,
  type ImageSink,
  pushImage,
} from "../../mock-registry/src/image/build.js";
import { digestOf } from "../../src/digest.js";
import type { RegistryClient } from "../../src/registry/client.js";
import { type DockerRegistry, startDockerRegistry, toolSkip } from "../helpers/docker-registry.js";
import { readVector } from "../helpers/vectors.js";
import { tempDir, testClient } from "../pull/helpers.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const skip = toolSkip(["docker-registry", "skopeo", "umoci", "tar", "setfattr"]);

function clientSink(client: RegistryClient, registry: string): ImageSink {
  return {
    putBlob: (repository, data) => client.pushBlob({ registry, repository }, Buffer.from(data)),
    putManifest: (repository, reference, body, mediaType) =>
      client.pushManifest({ registry, repository }, reference, Buffer.from(body), mediaType),
  };
}

/** relative path -> "type mode uid:gid size-or-target", whiteout markers left out. */
async function treeOf(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      if (name.startsWith(".wh.")) continue;
      const path = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(path);
      const type = (st.mode & 0o170000).toString(8);
      const what = st.isSymbolicLink()
        ? `-> ${await readlink(path)}`
        : st.isFile()
          ? `${st.size} bytes`
          : st.isCharacterDevice() || st.isBlockDevice()
            ? `dev ${st.rdev}`
            : "";
      const mode = st.isSymbolicLink() ? "" : (st.mode & 0o7777).toString(8);
      out.set(r, `${type} ${mode} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) await walk(path, r);
    }
  };
  await walk(root, "");
  return out;
}

describe("pull outputs against docker-registry", { skip }, () => {
  let reg: DockerRegistry;
  /** The layer tars as the blobs decompress to (the eStargz writer adds its landmark and TOC). */
  const tars: Buffer[] = [];
  before(async () => {
    reg = await startDockerRegistry();
    const layers = [
      await buildLayer(readVector("rootfs", "input.tar"), "zstd:chunked"),
      await buildLayer(readVector("special", "input.tar"), "estargz"),
      await buildLayer(readVector("pax", "input.tar"), "gzip"),
    ];
    tars.push(
      readVector("rootfs", "input.tar"), // zstd:chunked's diff_id is its input tar's
      gunzipSync(layers[1]!.blob),
      gunzipSync(layers[2]!.blob),
    );
    for (const [i, t] of tars.entries()) assert.equal(digestOf(t), layers[i]!.diffId);
    const client = testClient();
    try {
      await pushImage(clientSink(client, reg.host), "out/img", "v1", assembleImage(layers));
    } finally {
      await client.close();
    }
  });
  after(() => reg?.close());

  test("--output oci:DIR:TAG --rootfs ROOT: skopeo reads it, umoci unpack = ROOT = tar -x", async () => {
    const dir = await tempDir("chunkpull-outputs-");
    try {
      const layout = join(dir, "layout");
      const root = join(dir, "root");
      const cli = await run(process.execPath, [
        MAIN,
        "pull",
        `${reg.host}/out/img:v1`,
        "--plain-http",
        "--store",
        join(dir, "store"),
        "--output",
        `oci:${layout}:mytag`,
        "--rootfs",
        root,
      ]);
      assert.match(cli.stdout, /OCI image layout oci:.*:mytag/);
      const copied = /rootfs .* entries, (\d+) files copied from the store/.exec(cli.stdout);
      assert.ok(copied && Number(copied[1]) > 50, cli.stdout);
      const inspect = JSON.parse((await run("skopeo", ["inspect", `oci:${layout}:mytag`])).stdout);
      assert.equal(inspect.Layers.length, 3);

      const expected = join(dir, "expected");
      await run("mkdir", [expected]);
      for (const [i, tar] of tars.entries()) {
        const file = join(dir, `layer${i}.tar`);
        await writeFile(file, tar);
        await run("tar", ["-x", "-p", "--same-owner", "-f", file, "-C", expected]);
      }
      const bundle = join(dir, "bundle");
      await run("umoci", ["unpack", "--image", `${layout}:mytag`, bundle]);

      const want = await treeOf(expected);
      assert.ok(want.size > 100, `${want.size} entries`);
      assert.deepEqual(await treeOf(root), want, "ROOT = tar -x");
      assert.deepEqual(await treeOf(join(bundle, "rootfs")), want, "umoci unpack = tar -x");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("--output docker-archive:FILE:REF is read by skopeo", async () => {
    const dir = await tempDir("chunkpull-outputs-");
    try {
      const file = join(dir, "image.tar");
      await run(process.execPath, [
        MAIN,
        "pull",
        `${reg.host}/out/img:v1`,
        "--plain-http",
        "--quiet",
        "--store",
        join(dir, "store"),
        "--output",
        `docker-archive:${file}:example.com/out/img:v1`,
      ]);
      const inspect = JSON.parse(
        (await run("skopeo", ["inspect", `docker-archive:${file}`])).stdout,
      );
      assert.equal(inspect.Layers.length, 3);
      assert.deepEqual(inspect.RepoTags, []); // skopeo lists registry tags, none for an archive
      const config = JSON.parse(
        (await run("skopeo", ["inspect", "--config", `docker-archive:${file}`])).stdout,
      );
      // Layers in a docker archive are uncompressed: their digests are the diff_ids.
      assert.deepEqual(inspect.Layers, config.rootfs.diff_ids);
      const { stdout } = await run("tar", ["-tf", file]);
      assert.ok(stdout.split("\n").includes("manifest.json"));
      // A copy reads every blob and checks it against its digest.
      await run("skopeo", ["copy", `docker-archive:${file}`, `oci:${join(dir, "copy")}:t`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
