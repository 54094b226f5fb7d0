import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startMockRegistry } from "../../mock-registry/src/index.js";
import { MediaType } from "../../src/oci/media-types.js";
import { UnauthorizedError } from "../../src/registry/errors.js";
import { mockRepo, seedImage, sha256, testClient } from "./helpers.js";

describe("HEAD resolution and push", () => {
  it("resolves a tag with HEAD, and with GET when HEAD is refused", async () => {
    const reg = await startMockRegistry();
    try {
      const img = await seedImage(reg, "h/app", 64);
      const c = testClient();
      const repo = mockRepo(reg, "h/app");
      reg.resetStats();
      const head = await c.headManifest(repo, "v1");
      assert.equal(head.digest, img.indexDigest);
      assert.equal(head.mediaType, MediaType.OciIndex);
      assert.deepEqual(
        reg
          .stats()
          .requests.filter((r) => r.kind === "manifest")
          .map((r) => r.method),
        ["HEAD"],
      );
      reg.setModes({ manifestHead405: true });
      reg.resetStats();
      assert.equal((await c.headManifest(repo, "v1")).digest, img.indexDigest);
      assert.deepEqual(
        reg
          .stats()
          .requests.filter((r) => r.kind === "manifest")
          .map((r) => r.method),
        ["HEAD", "GET"],
      );
      await c.close();
    } finally {
      await reg.close();
    }
  });

  it("pushes with a token that has push scope, and refuses anonymous pushes", async () => {
    const reg = await startMockRegistry({
      auth: {
        kind: "bearer",
        users: { alice: "pw" },
        access: [
          { user: "alice", repo: "*", actions: ["pull", "push"] },
          { user: "anonymous", repo: "*", actions: ["pull"] },
        ],
      },
    });
    try {
      const alice = testClient({ credentials: { username: "alice", password: "pw" } });
      const data = Buffer.from("pushed layer bytes");
      const repo = mockRepo(reg, "team/pushed");
      assert.equal(await alice.pushBlob(repo, data), sha256(data));
      assert.equal(await alice.pushBlob(repo, data), sha256(data), "second push finds the blob");
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: { mediaType: MediaType.OciConfig, digest: sha256(data), size: data.length },
          layers: [],
        }),
      );
      assert.equal(
        await alice.pushManifest(repo, "t", manifest, MediaType.OciManifest),
        sha256(manifest),
      );
      const anon = testClient();
      assert.equal((await anon.getManifest(repo, "t")).digest, sha256(manifest));
      await assert.rejects(anon.pushBlob(repo, Buffer.from("other")), UnauthorizedError);
      await alice.close();
      await anon.close();
    } finally {
      await reg.close();
    }
  });

  it("reports insufficient scope (401 or 403) as UnauthorizedError after asking for the scope", async () => {
    for (const status of [401, 403] as const) {
      const reg = await startMockRegistry({
        auth: {
          kind: "bearer",
          insufficientScopeStatus: status,
          access: [{ user: "anonymous", repo: "*", actions: ["pull"] }],
        },
      });
      try {
        const anon = testClient();
        await assert.rejects(
          anon.pushBlob(mockRepo(reg, "team/x"), Buffer.from("x")),
          (e: unknown) => e instanceof UnauthorizedError && e.status === status,
        );
        // 401 insufficient_scope: one re-authentication and one retry, not a loop
        const posts = reg.stats().requests.filter((r) => r.kind === "upload").length;
        if (status === 401) assert.equal(posts, 2);
        else assert.ok(posts >= 1 && posts <= 2, `${posts} upload requests`);
        await anon.close();
      } finally {
        await reg.close();
      }
    }
  });
});
