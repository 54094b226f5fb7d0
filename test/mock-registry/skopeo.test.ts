/**
 * A real client against the mock: skopeo pushes an OCI layout into it, then inspects and copies
 * the image back; every blob must come back bit-exact. Also through bearer auth with credentials.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { type MockRegistryOptions, startMockRegistry } from "../../mock-registry/src/index.js";
import { toolSkip } from "../helpers/docker-registry.js";
import { pattern } from "./client.js";

const run = promisify(execFile);
const skip = toolSkip(["skopeo"]);
const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** One-file ustar archive, enough for a layer. */
function tinyTar(name: string, content: Buffer): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s.slice(0, len), off, "ascii");
  put(name, 0, 100);
  put("0000644\0", 100, 8);
  put("0000000\0", 108, 8);
  put("0000000\0", 116, 8);
  put(`${content.length.toString(8).padStart(11, "0")}\0`, 124, 12);
  put("00000000000\0", 136, 12);
  put("        ", 148, 8);
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([h, content, pad, Buffer.alloc(1024)]);
}

interface Layout {
  dir: string;
  blobs: Map<string, Buffer>;
  manifest: Buffer;
}

async function buildLayout(root: string): Promise<Layout> {
  const tar = tinyTar("hello.txt", pattern(3000, 5));
  const layer = gzipSync(tar, { level: 6 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [sha(tar)] },
      config: {},
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest: sha(layer),
          size: layer.length,
        },
      ],
    }),
  );
  const dir = join(root, "layout");
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const blobs = new Map<string, Buffer>();
  for (const b of [layer, config, manifest]) {
    blobs.set(sha(b), b);
    await writeFile(join(dir, "blobs", "sha256", sha(b).slice(7)), b);
  }
  await writeFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: sha(manifest),
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "v1" },
        },
      ],
    }),
  );
  return { dir, blobs, manifest };
}

async function roundTrip(
  root: string,
  layout: Layout,
  options: MockRegistryOptions,
  creds: string[],
) {
  const reg = await startMockRegistry(options);
  try {
    const ref = `docker://${reg.host}/skopeo/app:v1`;
    await run("skopeo", [
      "--insecure-policy",
      "copy",
      "--dest-tls-verify=false",
      ...creds.flatMap((c) => [`--dest-creds`, c]),
      `oci:${layout.dir}:v1`,
      ref,
    ]);
    const rawManifest = await run(
      "skopeo",
      ["inspect", "--tls-verify=false", ...creds.flatMap((c) => ["--creds", c]), "--raw", ref],
      {
        encoding: "buffer",
      },
    );
    assert.deepEqual(rawManifest.stdout, layout.manifest, "manifest bytes unchanged by the push");
    const info = JSON.parse(
      (
        await run("skopeo", [
          "inspect",
          "--tls-verify=false",
          ...creds.flatMap((c) => ["--creds", c]),
          ref,
        ])
      ).stdout,
    );
    assert.equal(info.Digest, sha(layout.manifest));
    const out = join(root, `out-${options.auth?.kind ?? "none"}`);
    await run("skopeo", [
      "--insecure-policy",
      "copy",
      "--src-tls-verify=false",
      ...creds.flatMap((c) => ["--src-creds", c]),
      ref,
      `oci:${out}:v1`,
    ]);
    for (const [digest, bytes] of layout.blobs) {
      const back = await readFile(join(out, "blobs", "sha256", digest.slice(7)));
      assert.deepEqual(back, bytes, `blob ${digest} bit-exact`);
    }
    const stats = reg.stats();
    assert.ok(
      stats.requests.some((r) => r.kind === "upload" && r.method === "PUT" && r.status === 201),
    );
    assert.ok(
      stats.requests.some((r) => r.kind === "manifest" && r.method === "PUT" && r.status === 201),
    );
    return stats;
  } finally {
    await reg.close();
  }
}

describe("skopeo against the mock", { skip }, () => {
  let root: string;
  let layout: Layout;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "mock-registry-skopeo-"));
    layout = await buildLayout(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  test("push an OCI layout, inspect, copy back bit-exact (no auth)", async () => {
    await roundTrip(root, layout, {}, []);
  });

  test("the same through bearer auth with credentials", async () => {
    const stats = await roundTrip(
      root,
      layout,
      { auth: { kind: "bearer", users: { bob: "pw" } } },
      ["bob:pw"],
    );
    assert.ok(stats.requests.some((r) => r.kind === "token" && r.status === 200));
    assert.ok(stats.requests.some((r) => r.status === 401));
  });
});
