import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { type SeededImage, seedSampleApp } from "../../mock-registry/src/seed.js";
import { readTar } from "../../src/formats/tar/index.js";
import { zstdDecompress } from "../../src/formats/zstd.js";
import { startDockerRegistry, toolSkip } from "../helpers/docker-registry.js";
import { raw } from "./client.js";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const SMALL = { versions: 3, appFiles: 20, fileSize: 3000 };
const ACCEPT =
  "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

async function fetchBlob(url: string, repo: string, digest: string): Promise<Buffer> {
  const r = await raw(`${url}/v2/${repo}/blobs/${digest}`);
  assert.equal(r.status, 200, `blob ${digest}`);
  assert.equal(sha(r.body), digest);
  return r.body;
}

async function uncompressed(img: SeededImage, layer: Buffer): Promise<Buffer> {
  return img.format === "zstd:chunked" ? zstdDecompress(layer, 64 << 20) : gunzipSync(layer);
}

/** name -> sha256 of contents for every regular file of a tar. */
async function tarFiles(tar: Buffer): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  let name: string | undefined;
  let h = createHash("sha256");
  async function* one() {
    yield tar;
  }
  for await (const ev of readTar(one())) {
    if (ev.type === "entry") {
      if (name) files.set(name, h.digest("hex"));
      name = ev.header.typeflag === "0" ? ev.header.name : undefined;
      h = createHash("sha256");
    } else if (ev.type === "data") h.update(ev.data);
  }
  if (name) files.set(name, h.digest("hex"));
  return files;
}

describe("seedSampleApp", () => {
  let reg: MockRegistry;
  let images: SeededImage[];
  before(async () => {
    reg = await startMockRegistry();
    images = await seedSampleApp(reg, SMALL);
  });
  after(() => reg.close());

  test("creates gzip, zstd:chunked, eStargz images and an index per version", () => {
    assert.deepEqual(
      images.map((i) => i.tag),
      [1, 2, 3].flatMap((v) => [`v${v}-gzip`, `v${v}-zstd-chunked`, `v${v}-estargz`, `v${v}`]),
    );
  });

  test("every layer decompresses to the config's diff_id; chunked annotations present", async () => {
    for (const img of images.filter((i) => i.format !== "index")) {
      const m = await raw(`${reg.url}/v2/${img.repo}/manifests/${img.tag}`, {
        headers: { Accept: ACCEPT },
      });
      assert.equal(m.status, 200);
      assert.equal(sha(m.body), img.manifestDigest);
      const manifest = JSON.parse(m.body.toString());
      const config = JSON.parse(
        (await fetchBlob(reg.url, img.repo, manifest.config.digest)).toString(),
      );
      assert.equal(manifest.layers.length, 2);
      for (const [i, desc] of manifest.layers.entries()) {
        const layer = await fetchBlob(reg.url, img.repo, desc.digest);
        assert.equal(layer.length, desc.size);
        assert.equal(
          sha(await uncompressed(img, layer)),
          config.rootfs.diff_ids[i],
          `${img.tag} layer ${i}`,
        );
        const keys = Object.keys(desc.annotations ?? {});
        if (img.format === "zstd:chunked") {
          assert.equal(desc.mediaType, "application/vnd.oci.image.layer.v1.tar+zstd");
          assert.ok(keys.includes("io.github.containers.zstd-chunked.manifest-checksum"), img.tag);
        } else if (img.format === "estargz") {
          assert.ok(keys.includes("containerd.io/snapshot/stargz/toc.digest"), img.tag);
        } else {
          assert.deepEqual(keys, []);
        }
      }
    }
  });

  test("the index lists gzip and zstd:chunked, the zstd one annotated", async () => {
    const idx = images.find((i) => i.tag === "v2")!;
    const r = await raw(`${reg.url}/v2/${idx.repo}/manifests/v2`, { headers: { Accept: ACCEPT } });
    const index = JSON.parse(r.body.toString());
    const byDigest = new Map(images.map((i) => [i.manifestDigest, i]));
    assert.deepEqual(
      index.manifests.map((d: { digest: string }) => byDigest.get(d.digest)?.tag),
      ["v2-gzip", "v2-zstd-chunked"],
    );
    assert.equal(index.manifests[1].annotations["io.github.containers.compression.zstd"], "true");
  });

  test("versions share the base layer and most app files", async () => {
    const gz = images.filter((i) => i.format === "gzip");
    assert.equal(new Set(gz.map((i) => i.layers[0]!.digest)).size, 1, "base layer identical");
    assert.equal(new Set(gz.map((i) => i.layers[1]!.digest)).size, 3, "app layer differs");
    const v1 = await tarFiles(
      gunzipSync(await fetchBlob(reg.url, "sample/app", gz[0]!.layers[1]!.digest)),
    );
    const v2 = await tarFiles(
      gunzipSync(await fetchBlob(reg.url, "sample/app", gz[1]!.layers[1]!.digest)),
    );
    const same = [...v2].filter(([n, h]) => v1.get(n) === h).length;
    // Per version: ~10% of the app files, the plugin and the edited bundle change.
    assert.ok(same / v2.size >= 0.75, `${same}/${v2.size} files shared`);
    assert.ok(same < v2.size, "but not all");
  });

  test("deterministic: a second registry gets the same digests", async () => {
    const other = await startMockRegistry();
    try {
      const again = await seedSampleApp(other, SMALL);
      assert.deepEqual(again, images);
    } finally {
      await other.close();
    }
  });

  test("pushes over HTTP to the real docker-registry", {
    skip: toolSkip(["docker-registry"]),
  }, async () => {
    const real = await startDockerRegistry();
    try {
      const pushed = await seedSampleApp(real.url, { ...SMALL, versions: 1 });
      assert.deepEqual(
        pushed,
        images.filter((i) => i.version === 1),
      );
      const r = await raw(`${real.url}/v2/sample/app/manifests/v1-zstd-chunked`, {
        headers: { Accept: ACCEPT },
      });
      assert.equal(r.status, 200);
      assert.equal(sha(r.body), pushed[1]!.manifestDigest);
    } finally {
      await real.close();
    }
  });
});
