/**
 * `chunkpull inspect` and `pull --dry-run` against the mock registry, and the registry-facing
 * error lines: a platform the image lacks, 401s that say which credentials were tried, and
 * `--debug` request logs that never show a secret.
 */
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pushImage } from "../../mock-registry/src/image/build.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { digestOf } from "../../src/digest.js";
import type { ImageInspection } from "../../src/inspect/inspect-image.js";
import { MediaType } from "../../src/oci/media-types.js";
import type { PullResult } from "../../src/pull/types.js";
import { type SampleImages, sampleImages, tempDir } from "../pull/helpers.js";
import { cleanEnv, runChild } from "./child.js";

const ONE_ERROR_LINE = /^chunkpull [a-z ]+: [^\n]+ \[E[A-Z]+\]; hint: [^\n]+\n$/;

describe("inspect and pull --dry-run", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  let dir: string;
  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushImage(reg, "i/app", "v1", images.v1);
    await pushImage(reg, "i/app", "v2", images.v2);
    // An index with two platforms, both pointing at v1's manifest (enough for selection).
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: ["amd64", "s390x"].map((architecture) => ({
          mediaType: MediaType.OciManifest,
          digest: images.v1.manifestDigest,
          size: images.v1.manifest.length,
          platform: { os: "linux", architecture },
        })),
      }),
    );
    await reg.putManifest("i/app", "multi", index, MediaType.OciIndex);
    dir = await tempDir("chunkpull-inspect-");
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("inspect REF: digests, platforms, layers with format and TOC state", async () => {
    const r = await runChild(["inspect", `${reg.host}/i/app:v2`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`manifest:  ${images.v2.manifestDigest}`));
    assert.match(r.stdout, /\nplatforms: linux\/amd64\n/);
    for (const l of images.v2.layers) {
      assert.ok(r.stdout.includes(l.descriptor.digest));
      assert.ok(r.stdout.includes(`diff_id ${l.diffId}`));
    }
    assert.equal(r.stdout.match(/zstd:chunked, .*, TOC verified, tar-split present/g)?.length, 2);
    assert.doesNotMatch(r.stdout, /plan:/); // no store, no plan
    const m = await runChild(["inspect", `${reg.host}/i/app:multi`, "--json"]);
    const doc = JSON.parse(m.stdout) as ImageInspection;
    assert.deepEqual(doc.platforms, ["linux/amd64", "linux/s390x"]);
    assert.equal(doc.indexDigest, digestOf(await indexBytes(reg, "i/app", "multi")));
  });

  test("inspect --store plans like the pull that follows, and writes nothing", async () => {
    const store = join(dir, "plan");
    const v1 = await runChild(["pull", `${reg.host}/i/app:v1`, "--store", store, "-q"]);
    assert.equal(v1.code, 0, v1.stderr);
    const before = (await runChild(["store", "ls", "--store", store, "--json"])).stdout;

    const planned = await runChild(["inspect", `${reg.host}/i/app:v2`, "--store", store, "--json"]);
    assert.equal(planned.code, 0, planned.stderr);
    const plan = JSON.parse(planned.stdout) as ImageInspection;
    const dry = await runChild(["pull", `${reg.host}/i/app:v2`, "--store", store, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /plan: cached, already in the store/);
    assert.match(
      dry.stdout,
      /plan: partial: fetch [\d.]+ KiB of [\d.]+ KiB in \d+ request\(s\); files from store \d+\/\d+\n/,
    );
    assert.match(dry.stdout, /\na pull now would fetch .* saving /);
    assert.equal((await runChild(["store", "ls", "--store", store, "--json"])).stdout, before);

    const pulled = await runChild(["pull", `${reg.host}/i/app:v2`, "--store", store, "--json"]);
    const result = JSON.parse(pulled.stdout) as PullResult;
    assert.deepEqual(
      plan.layers.map((l) => l.dryRun?.mode),
      result.layers.map((l) => l.mode),
    );
    for (const [i, l] of result.layers.entries()) {
      const d = plan.layers[i]!.dryRun!;
      assert.equal(d.requests, l.requests, `layer ${i} requests`);
      if (l.mode === "partial") assert.equal(d.filesFromStore, l.filesFromStore);
      // Range lengths planned vs body bytes received (multipart headers add a little).
      assert.ok(
        l.bytesFetched >= d.bytesToFetch,
        `layer ${i}: ${l.bytesFetched} >= ${d.bytesToFetch}`,
      );
      assert.ok(
        l.bytesFetched <= d.bytesToFetch * 1.05 + 8192,
        `layer ${i}: ${l.bytesFetched} vs ${d.bytesToFetch}`,
      );
    }
    assert.ok(plan.dryRun!.bytesToFetch < plan.size / 2, "v2 over v1 saves most bytes");
  });

  test("--platform the index lacks: one line listing the platforms", async () => {
    const r = await runChild([
      "pull",
      `${reg.host}/i/app:multi`,
      "--platform",
      "linux/riscv64",
      "--store",
      join(dir, "p1"),
      "-q",
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, ONE_ERROR_LINE);
    assert.match(r.stderr, /available: linux\/amd64, linux\/s390x \[EPLATFORM\]; hint: choose/);
  });

  test("--platform on a single-platform image for another one: pulled with a warning", async () => {
    const r = await runChild([
      "pull",
      `${reg.host}/i/app:v1`,
      "--platform",
      "linux/arm64",
      "--store",
      join(dir, "p2"),
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).platform, "linux/amd64");
    assert.match(
      r.stderr,
      /^chunkpull pull: warning: the image is for linux\/amd64 only, not linux\/arm64 .*\[EPLATFORM\]\n$/,
    );
    // The same image asked for as amd64 (or with no platform) is pulled without a word.
    const quiet = await runChild([
      "pull",
      `${reg.host}/i/app:v1`,
      "--platform",
      "linux/amd64",
      "--store",
      join(dir, "p2"),
      "-q",
    ]);
    assert.equal(quiet.stderr, "");
  });
});

async function indexBytes(reg: MockRegistry, repo: string, tag: string): Promise<Buffer> {
  const res = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: MediaType.OciIndex },
  });
  return Buffer.from(await res.arrayBuffer());
}

for (const kind of ["basic", "bearer"] as const) {
  describe(`401s name the credentials tried (${kind} auth)`, () => {
    let reg: MockRegistry;
    let images: SampleImages;
    let dir: string;
    before(async () => {
      reg = await startMockRegistry({
        auth:
          kind === "basic"
            ? { kind: "basic", users: { alice: "s3cret" } }
            : { kind: "bearer", users: { alice: "s3cret" }, anonymousPull: false },
      });
      images = await sampleImages("zstd:chunked");
      await pushImage(reg, "a/app", "v1", images.v1);
      dir = await tempDir("chunkpull-auth-");
    });
    after(async () => {
      await reg.close();
      await rm(dir, { recursive: true, force: true });
    });

    test("no credentials, wrong --creds and a wrong auth file say different things", async () => {
      const ref = `${reg.host}/a/app:v1`;
      const none = await runChild(["pull", ref, "--store", join(dir, "s"), "-q"]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, ONE_ERROR_LINE);
      assert.match(none.stderr, /no credentials/);
      assert.match(none.stderr, /\[EUNAUTHORIZED\]; hint: pass --creds/);

      const wrong = await runChild([
        "pull",
        ref,
        "--store",
        join(dir, "s"),
        "--creds",
        "alice:nope",
        "-q",
      ]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, ONE_ERROR_LINE);
      assert.match(wrong.stderr, /credentials from --creds \(user "alice"\)/);
      assert.doesNotMatch(wrong.stderr, /nope/);

      const authFile = join(dir, "auth.json");
      const auth = Buffer.from("alice:badpw").toString("base64");
      await writeFile(authFile, JSON.stringify({ auths: { [reg.host]: { auth } } }));
      const fromFile = await runChild(["pull", ref, "--store", join(dir, "s")], {
        env: cleanEnv({ REGISTRY_AUTH_FILE: authFile }),
      });
      assert.equal(fromFile.code, 1);
      assert.ok(
        fromFile.stderr.includes(`credentials from auth file ${authFile}`),
        fromFile.stderr,
      );
      assert.doesNotMatch(fromFile.stderr, /badpw/);
    });

    test("--debug logs each request and its status, never a secret", async () => {
      const r = await runChild([
        "pull",
        `${reg.host}/a/app:v1`,
        "--store",
        join(dir, "d"),
        "--creds",
        "alice:s3cret",
        "--debug",
        "-q",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^chunkpull: debug: > GET http:\/\/127\.0\.0\.1:\d+\/v2\/$/m);
      assert.match(r.stderr, /^chunkpull: debug: < 200 GET http:\/\/[^ ]+\/manifests\/v1 /m);
      assert.match(
        r.stderr,
        /^chunkpull: debug: > GET [^ ]+\/blobs\/sha256:[0-9a-f]{64} \(\d+ range\(s\)\)$/m,
      );
      assert.doesNotMatch(r.stderr, /s3cret/);
      assert.ok(!r.stderr.includes(Buffer.from("alice:s3cret").toString("base64")));
      assert.doesNotMatch(r.stderr, /authorization/i);
    });
  });
}
