import assert from "node:assert/strict";
import { buffer } from "node:stream/consumers";
import { after, before, beforeEach, describe, it } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { DigestMismatchError, FormatError } from "../../src/errors.js";
import { parsePlatform } from "../../src/oci/platform.js";
import { parseReference } from "../../src/reference.js";
import {
  NotFoundError,
  PlatformNotFoundError,
  RateLimitedError,
} from "../../src/registry/errors.js";
import { mockRepo, type SeededImage, seedImage, testClient } from "./helpers.js";

describe("pull against the mock registry", () => {
  let reg: MockRegistry;
  let img: SeededImage;
  before(async () => {
    reg = await startMockRegistry();
    img = await seedImage(reg, "app/web");
  });
  after(() => reg.close());
  beforeEach(() => {
    reg.clearModes();
    reg.resetStats();
  });

  it("resolves tag -> index -> platform manifest -> config, sending the full Accept list", async () => {
    const c = testClient();
    const r = await c.resolveImage(parseReference(`${reg.host}/app/web:v1`), {
      platform: parsePlatform("linux/amd64"),
    });
    assert.equal(r.indexDigest, img.indexDigest);
    assert.equal(r.manifestDigest, img.manifestDigest);
    assert.equal(r.configDigest, img.configDigest);
    assert.deepEqual(r.config.rootfs.diff_ids, [img.diffId]);
    assert.equal(r.manifest.layers[0]!.digest, img.layerDigest);
    const arm = await c.resolveImage(
      parseReference(`${reg.host}/app/web:v1`),
      parsePlatform("linux/aarch64"),
    );
    assert.equal(arm.manifestDigest, img.manifestDigest);
    const byDigest = await c.resolveImage(
      parseReference(`${reg.host}/app/web@${img.manifestDigest}`),
    );
    assert.equal(byDigest.indexDigest, undefined);
    assert.equal(byDigest.manifestDigest, img.manifestDigest);
    await c.close();
  });

  it("reports unknown names, tags and platforms in the user's terms", async () => {
    const c = testClient();
    await assert.rejects(
      c.resolveImage(parseReference(`${reg.host}/app/web:nope`)),
      (e: unknown) => {
        return (
          e instanceof NotFoundError &&
          e.subject === `manifest ${reg.host}/app/web:nope` &&
          e.registryCodes.includes("MANIFEST_UNKNOWN")
        );
      },
    );
    await assert.rejects(
      c.resolveImage(parseReference(`${reg.host}/app/web:v1`), {
        platform: parsePlatform("linux/s390x"),
      }),
      (e: unknown) =>
        e instanceof PlatformNotFoundError && e.available.join(",") === "linux/amd64,linux/arm64",
    );
    await c.close();
  });

  it("verifies Docker-Content-Digest when present and tolerates its absence", async () => {
    const c = testClient();
    const repo = mockRepo(reg, "app/web");
    reg.setModes({ manifestDigestHeader: "absent" });
    assert.equal((await c.getManifest(repo, "v1")).digest, img.indexDigest);
    reg.setModes({ manifestDigestHeader: "wrong" });
    await assert.rejects(c.getManifest(repo, "v1"), DigestMismatchError);
    await assert.rejects(c.getManifest(repo, img.indexDigest, { size: 5 }), FormatError);
    await c.close();
  });

  it("streams a blob and verifies its digest", async () => {
    const c = testClient();
    const s = await c.openBlob({
      ...mockRepo(reg, "app/web"),
      digest: img.layerDigest,
      size: img.layer.length,
    });
    assert.deepEqual(await buffer(s), img.layer);
    reg.setModes({ corruptByteAt: 1000 });
    const bad = await c.openBlob({
      ...mockRepo(reg, "app/web"),
      digest: img.layerDigest,
      size: img.layer.length,
    });
    await assert.rejects(
      buffer(bad),
      (e: unknown) =>
        e instanceof DigestMismatchError &&
        e.expected === img.layerDigest &&
        e.actual !== img.layerDigest,
    );
    await assert.rejects(
      c.openBlob({ ...mockRepo(reg, "app/web"), digest: img.diffId }),
      NotFoundError,
    );
    await assert.rejects(
      c.openBlob({
        ...mockRepo(reg, "app/web"),
        digest: img.layerDigest,
        size: img.layer.length + 1,
      }),
      (e: unknown) => e instanceof FormatError && /the descriptor says/.test(e.message),
    );
    await c.close();
  });

  it("resumes a broken blob stream with Range: bytes=N-", async () => {
    const c = testClient();
    reg.setModes({ resetAfterBytes: 100_000 }, "app/web");
    const s = await c.openBlob({
      ...mockRepo(reg, "app/web"),
      digest: img.layerDigest,
      size: img.layer.length,
    });
    assert.deepEqual(await buffer(s), img.layer);
    const blobReqs = reg.stats().requests.filter((r) => r.kind === "blob");
    assert.ok(blobReqs.length >= 3, `expected resumes, got ${blobReqs.length} requests`);
    assert.equal(blobReqs[0]!.range, undefined);
    assert.match(blobReqs[1]!.range ?? "", /^bytes=\d+-$/);
    await c.close();
  });

  it("retries 429 (Retry-After in seconds and as an HTTP-date) and 5xx bursts", async () => {
    const c = testClient();
    const repo = mockRepo(reg, "app/web");
    for (const form of ["seconds", "http-date"] as const) {
      reg.setModes({ tooManyRequests: { count: 2, retryAfterSeconds: 1, form } }, "app/web");
      const t0 = Date.now();
      assert.equal((await c.getManifest(repo, "v1")).digest, img.indexDigest);
      assert.ok(Date.now() - t0 >= 900, `${form}: waited ${Date.now() - t0} ms`);
    }
    for (const status of [500, 502, 503, 504] as const) {
      reg.setModes({ serverErrors: { count: 3, status } }, "app/web");
      assert.equal((await c.getManifest(repo, "v1")).digest, img.indexDigest);
    }
    reg.setModes(
      { tooManyRequests: { count: 100, retryAfterSeconds: 3600, form: "seconds" } },
      "app/web",
    );
    await assert.rejects(
      c.getManifest(repo, "v1"),
      (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs === 3_600_000,
    );
    await c.close();
  });

  it("honours AbortSignal", async () => {
    const c = testClient();
    reg.setModes({ latencyMs: 2000 }, "app/web");
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const t0 = Date.now();
    await assert.rejects(c.getManifest(mockRepo(reg, "app/web"), "v1", { signal: ac.signal }));
    assert.ok(Date.now() - t0 < 1500);
    await c.close();
  });
});
