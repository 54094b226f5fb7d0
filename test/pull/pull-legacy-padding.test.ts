/**
 * Images written by skopeo 1.9 (containers/storage 1.43) with `--dest-compress-format
 * zstd:chunked` from an ordinary GNU tar: the blob has no tar-split and its tar lacks the
 * trailing record padding, while the config keeps the original diff_id. Pushed by the real
 * skopeo to the real docker-registry, the image must pull, verify against the diff_id, say that
 * padding was added, and export the exact original tar.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type Digest, digestOf, hexOf } from "../../src/digest.js";
import { storedLayerTar } from "../../src/output/layer-tar.js";
import { pull } from "../../src/pull/pull.js";
import { runCli } from "../cli/helpers.js";
import { type DockerRegistry, startDockerRegistry, toolSkip } from "../helpers/docker-registry.js";
import { readVector } from "../helpers/vectors.js";
import { freshStore, tempDir, testClient } from "./helpers.js";

const run = promisify(execFile);
const skip = toolSkip(["docker-registry", "skopeo"]);

/** An OCI layout holding one image with one uncompressed layer. */
async function layoutWith(dir: string, tar: Buffer): Promise<void> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (data: Buffer): Promise<Digest> => {
    const d = digestOf(data);
    await writeFile(join(blobs, hexOf(d)), data);
    return d;
  };
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [digestOf(tar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: await put(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar",
          digest: await put(tar),
          size: tar.length,
        },
      ],
    }),
  );
  const manifestDigest = await put(manifest);
  await writeFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: manifestDigest,
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "v1" },
        },
      ],
    }),
  );
}

describe("zstd:chunked written by skopeo 1.9 (no trailing padding)", { skip }, () => {
  let reg: DockerRegistry;
  let dir: string;
  const tar = readVector("gnutar", "input.tar");
  before(async () => {
    reg = await startDockerRegistry();
    dir = await tempDir("chunkpull-legacy-");
    await layoutWith(join(dir, "src"), tar);
    await run("skopeo", [
      "copy",
      "--dest-tls-verify=false",
      "--dest-compress-format",
      "zstd:chunked",
      `oci:${join(dir, "src")}:v1`,
      `docker://${reg.host}/legacy/img:v1`,
    ]);
  });
  after(async () => {
    await reg?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("pulls partially, proves the diff_id with the padding it names, exports the exact tar", async () => {
    const { dir: storeDir, store } = await freshStore();
    const client = testClient();
    try {
      const raw = JSON.parse(
        (
          await run("skopeo", [
            "inspect",
            "--tls-verify=false",
            "--raw",
            `docker://${reg.host}/legacy/img:v1`,
          ])
        ).stdout,
      );
      const annotations = raw.layers[0].annotations as Record<string, string>;
      const tarSplitKeys = Object.keys(annotations).filter((k) => k.includes("tarsplit"));
      if (tarSplitKeys.length > 0) {
        // A newer skopeo writes a tar-split: then there is no legacy layer to test here.
        assert.ok(
          !process.env.CI,
          `skopeo wrote a tar-split (${tarSplitKeys}); this test needs skopeo 1.9`,
        );
        return;
      }
      const r = await pull(`${reg.host}/legacy/img:v1`, { store, client });
      const layer = r.layers[0]!;
      assert.equal(layer.format, "zstd:chunked");
      assert.equal(layer.mode, "partial");
      assert.equal(layer.verified, "diff-id");
      assert.equal(layer.diffId, digestOf(tar));
      assert.ok(
        layer.trailingPadding && layer.trailingPadding > 0,
        `padding ${layer.trailingPadding}`,
      );
      const parts: Buffer[] = [];
      for await (const piece of storedLayerTar(store, layer.diffId)) parts.push(piece);
      assert.deepEqual(Buffer.concat(parts), tar);
    } finally {
      await client.close();
      await rm(storeDir, { recursive: true, force: true });
    }
  });

  test("layer rebuild --diff-id restores the padding the diff_id proves, and only then", async () => {
    const out = join(dir, "copy");
    await run("skopeo", [
      "copy",
      "--src-tls-verify=false",
      `docker://${reg.host}/legacy/img:v1`,
      `oci:${out}:v1`,
    ]);
    const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
    const manifest = JSON.parse(
      await readFile(join(out, "blobs", "sha256", hexOf(index.manifests[0].digest)), "utf8"),
    );
    const layerDesc = manifest.layers[0] as { digest: Digest; annotations: Record<string, string> };
    if (Object.keys(layerDesc.annotations).some((k) => k.includes("tarsplit"))) {
      assert.ok(!process.env.CI, "skopeo wrote a tar-split; this test needs skopeo 1.9");
      return;
    }
    const blob = join(out, "blobs", "sha256", hexOf(layerDesc.digest));
    const annotations = join(dir, "annotations.json");
    await writeFile(annotations, JSON.stringify(layerDesc.annotations));
    // Without the diff_id nothing proves the padding: the cut tar comes out as the blob holds it.
    const plain = join(dir, "plain.tar");
    const r0 = await runCli(["layer", "rebuild", blob, "--annotations", annotations, "-o", plain]);
    assert.equal(r0.code, 0, r0.stderr);
    const cut = await readFile(plain);
    assert.ok(cut.length < tar.length && tar.subarray(0, cut.length).equals(cut));
    const exact = join(dir, "exact.tar");
    const r1 = await runCli([
      "layer",
      "rebuild",
      blob,
      "--annotations",
      annotations,
      "-o",
      exact,
      "--diff-id",
      digestOf(tar),
    ]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, /trailing padding restored/);
    assert.deepEqual(await readFile(exact), tar);
    // A diff_id no padding reaches is still a mismatch, and leaves no output.
    const wrong = join(dir, "wrong.tar");
    const r2 = await runCli([
      "layer",
      "rebuild",
      blob,
      "--annotations",
      annotations,
      "-o",
      wrong,
      "--diff-id",
      digestOf(Buffer.concat([tar, Buffer.alloc(512)])),
    ]);
    assert.equal(r2.code, 1, r2.stderr);
    await assert.rejects(readFile(wrong), { code: "ENOENT" });
  });
});
