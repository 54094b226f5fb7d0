/**
 * The client against the real distribution registry (Debian `docker-registry`): push with the
 * client's minimal push, then pull manifest, config, blobs and multi-range answers.
 */
import assert from "node:assert/strict";
import { buffer } from "node:stream/consumers";
import { describe, it } from "node:test";
import { parsePlatform } from "../../src/oci/platform.js";
import { parseReference } from "../../src/reference.js";
import type { RegistryClient } from "../../src/registry/client.js";
import { UnauthorizedError } from "../../src/registry/errors.js";
import { startDockerRegistry, toolSkip } from "../helpers/docker-registry.js";
import { seedImage, spreadRanges, testClient } from "./helpers.js";

const skip = toolSkip(["docker-registry", "htpasswd"]);

function seederFor(c: RegistryClient, host: string) {
  return {
    putBlob: (repo: string, data: Uint8Array) =>
      c.pushBlob({ registry: host, repository: repo }, Buffer.from(data)),
    putManifest: (repo: string, ref: string, body: Uint8Array | string, mediaType: string) =>
      c.pushManifest({ registry: host, repository: repo }, ref, Buffer.from(body), mediaType),
  };
}

describe("against docker-registry", { skip }, () => {
  it("pushes, then pulls manifest, config, blob and many ranges in one request", async () => {
    const reg = await startDockerRegistry();
    const c = testClient();
    try {
      const img = await seedImage(seederFor(c, reg.host), "real/app", 512 * 1024);
      const resolved = await c.resolveImage(parseReference(`${reg.host}/real/app:v1`), {
        platform: parsePlatform("linux/amd64"),
      });
      assert.equal(resolved.indexDigest, img.indexDigest);
      assert.equal(resolved.manifestDigest, img.manifestDigest);
      assert.deepEqual(resolved.config.rootfs.diff_ids, [img.diffId]);
      const blob = {
        registry: reg.host,
        repository: "real/app",
        digest: img.layerDigest,
        size: img.layer.length,
      };
      assert.deepEqual(await buffer(await c.openBlob(blob)), img.layer);
      const ranges = spreadRanges(img.layer.length, 50, 777);
      c.resetStats();
      const got = await c.fetchRanges(blob, ranges);
      ranges.forEach((r, i) => {
        assert.deepEqual(got[i], img.layer.subarray(r.offset, r.offset + r.length), `range ${i}`);
      });
      assert.equal(c.stats().requests, 1, "50 ranges in one multipart/byteranges request");
    } finally {
      await c.close();
      await reg.close();
    }
  });

  it("authenticates with htpasswd Basic auth", async () => {
    const reg = await startDockerRegistry({ htpasswd: { user: "bob", password: "pw-123" } });
    const bob = testClient({ credentials: { username: "bob", password: "pw-123" } });
    const anon = testClient();
    try {
      const img = await seedImage(seederFor(bob, reg.host), "private/app", 8192);
      const m = await bob.getManifest({ registry: reg.host, repository: "private/app" }, "v1");
      assert.equal(m.digest, img.indexDigest);
      await assert.rejects(
        anon.getManifest({ registry: reg.host, repository: "private/app" }, "v1"),
        UnauthorizedError,
      );
    } finally {
      await bob.close();
      await anon.close();
      await reg.close();
    }
  });
});
