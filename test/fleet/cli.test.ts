/**
 * `chunkpull pull --registries-conf FILE | --hosts-dir DIR [--prefetch]` as a node of a fleet runs
 * it: the built CLI against two mock registries (origin and mirror holding the same image).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import type { PullResult } from "../../src/pull/types.js";
import { pushTo, type SampleImages, sampleImages, tempDir } from "../pull/helpers.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], {
      env: { ...process.env, HOME: "/nonexistent", XDG_CACHE_HOME: "/nonexistent" },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("chunkpull pull with fleet configuration (CLI)", () => {
  let origin: MockRegistry;
  let mirror: MockRegistry;
  let images: SampleImages;
  let dir: string;
  before(async () => {
    origin = await startMockRegistry();
    mirror = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushTo(origin, "fleet/app", "v1", images.v1);
    await pushTo(mirror, "fleet/app", "v1", images.v1);
    dir = await tempDir();
  });
  after(async () => {
    await origin.close();
    await mirror.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("--registries-conf --prefetch: short name qualified, cache warmed, layers from the mirror", async () => {
    const conf = join(dir, "registries.conf");
    await writeFile(
      conf,
      `unqualified-search-registries = ["${origin.host}"]\n\n[[registry]]\nprefix = "${origin.host}"\n\n[[registry.mirror]]\nlocation = "${mirror.host}"\n`,
    );
    mirror.resetStats();
    const r = await cli([
      "pull",
      "fleet/app:v1",
      "--registries-conf",
      conf,
      "--prefetch",
      "--json",
      "--store",
      join(dir, "store1"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as PullResult;
    assert.equal(result.reference, `${origin.host}/fleet/app:v1`);
    assert.equal(result.manifestDigest, images.v1.manifestDigest);
    for (const l of result.layers) {
      assert.equal(l.servedBy, mirror.host);
      assert.equal(l.verified, "diff-id");
    }
    assert.ok((result.hosts?.[mirror.host]?.bytesReceived ?? 0) > 0);
    assert.equal(result.hosts?.[origin.host], undefined);
    // --prefetch: one plain GET (no Range) per layer before the ranged pull.
    for (const layer of images.v1.layers) {
      const full = mirror
        .stats()
        .requests.filter(
          (q) => q.digest === layer.descriptor.digest && q.kind === "blob" && !q.range,
        );
      assert.equal(full.length, 1, `one full GET of ${layer.descriptor.digest}`);
    }
  });

  test("--hosts-dir: the mirror from hosts.toml; a missing --registries-conf is a clear error", async () => {
    const hosts = join(dir, "hosts");
    await mkdir(join(hosts, origin.host), { recursive: true });
    await writeFile(
      join(hosts, origin.host, "hosts.toml"),
      `server = "${origin.url}"\n[host."${mirror.url}"]\ncapabilities = ["pull", "resolve"]\n`,
    );
    const r = await cli([
      "pull",
      `${origin.host}/fleet/app:v1`,
      "--hosts-dir",
      hosts,
      "--json",
      "--store",
      join(dir, "store2"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as PullResult;
    for (const l of result.layers) assert.equal(l.servedBy, mirror.host);

    const bad = await cli([
      "pull",
      `${origin.host}/fleet/app:v1`,
      "--registries-conf",
      join(dir, "missing.conf"),
      "--store",
      join(dir, "store3"),
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /missing\.conf/);
  });

  test("--creds are sent to the image's registry, never to a mirror", async () => {
    const users = { alice: "s3cret" };
    const lockedOrigin = await startMockRegistry({ auth: { kind: "basic", users } });
    const lockedMirror = await startMockRegistry({ auth: { kind: "basic", users } });
    try {
      await pushTo(lockedOrigin, "fleet/app", "v1", images.v1);
      await pushTo(lockedMirror, "fleet/app", "v1", images.v1);
      const conf = join(dir, "locked.conf");
      await writeFile(
        conf,
        `[[registry]]\nprefix = "${lockedOrigin.host}"\n\n[[registry.mirror]]\nlocation = "${lockedMirror.host}"\n`,
      );
      const r = await cli([
        "pull",
        `${lockedOrigin.host}/fleet/app:v1`,
        "--registries-conf",
        conf,
        "--creds",
        "alice:s3cret",
        "--json",
        "--store",
        join(dir, "store4"),
      ]);
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout) as PullResult;
      for (const l of result.layers) assert.equal(l.servedBy, lockedOrigin.host);
      const mirrorAuth = lockedMirror
        .stats()
        .requests.filter((q) => q.kind !== "ping" && q.status === 200);
      assert.deepEqual(mirrorAuth, [], "the mirror never accepted a request");
    } finally {
      await lockedOrigin.close();
      await lockedMirror.close();
    }
  });
});
