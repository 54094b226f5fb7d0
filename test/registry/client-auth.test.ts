import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type MockRegistryOptions, startMockRegistry } from "../../mock-registry/src/index.js";
import type { RegistryClientOptions } from "../../src/registry/client.js";
import { UnauthorizedError } from "../../src/registry/errors.js";
import { mockRepo, seedImage, testClient } from "./helpers.js";

type Auth = NonNullable<MockRegistryOptions["auth"]>;

/** Start a mock with `auth`, seed it (the admin API bypasses auth), run `fn`, close. */
async function withRegistry(
  auth: Auth,
  fn: (ctx: {
    pull: (o?: RegistryClientOptions) => Promise<string>;
    reg: Awaited<ReturnType<typeof startMockRegistry>>;
  }) => Promise<void>,
): Promise<void> {
  const reg = await startMockRegistry({ auth });
  try {
    const img = await seedImage(reg, "team/app", 4096);
    const pull = async (o: RegistryClientOptions = {}) => {
      const c = testClient(o);
      try {
        const m = await c.getManifest(mockRepo(reg, "team/app"), "v1");
        const [bytes] = await c.fetchRanges(
          { ...mockRepo(reg, "team/app"), digest: img.layerDigest, size: 4096 },
          [{ offset: 10, length: 20 }],
        );
        assert.deepEqual(bytes, img.layer.subarray(10, 30));
        return m.digest;
      } finally {
        await c.close();
      }
    };
    await fn({ pull, reg });
  } finally {
    await reg.close();
  }
}

const users = { alice: "s3cret" };
const alice = { credentials: { username: "alice", password: "s3cret" } };
const tokenRequests = (reg: {
  stats(): { requests: Array<{ origin: string; method: string; authorization: boolean }> };
}) => reg.stats().requests.filter((r) => r.origin === "token");

describe("auth against the mock registry", () => {
  it("works without auth", async () => {
    await withRegistry({ kind: "none" }, async ({ pull, reg }) => {
      await pull();
      assert.ok(reg.stats().requests.every((r) => !r.authorization));
    });
  });

  it("sends Basic credentials for Basic challenges and names a refusal", async () => {
    await withRegistry({ kind: "basic", users }, async ({ pull }) => {
      await pull(alice);
      await assert.rejects(
        pull({ credentials: { username: "alice", password: "wrong" } }),
        (e: unknown) => e instanceof UnauthorizedError && e.status === 401,
      );
      await assert.rejects(pull(), UnauthorizedError);
    });
  });

  it("gets anonymous bearer tokens, with token, access_token or both", async () => {
    for (const tokenField of ["token", "access_token", "both"] as const) {
      await withRegistry({ kind: "bearer", tokenField }, async ({ pull, reg }) => {
        await pull();
        const tr = tokenRequests(reg);
        assert.equal(tr.length, 1, tokenField);
        assert.equal(tr[0]!.authorization, false);
      });
    }
  });

  it("gets bearer tokens with Basic credentials at the token server only", async () => {
    await withRegistry({ kind: "bearer", users, anonymousPull: false }, async ({ pull, reg }) => {
      await assert.rejects(pull(), UnauthorizedError);
      reg.resetStats();
      await pull(alice);
      const tr = tokenRequests(reg);
      assert.equal(tr.length, 1);
      assert.equal(tr[0]!.authorization, true);
      await assert.rejects(
        pull({ credentials: { username: "alice", password: "nope" } }),
        /token server .* answered HTTP 401/,
      );
    });
  });

  it("uses the OAuth2 POST when asked and falls back to GET when it is refused", async () => {
    for (const oauthPost of ["ok", 400, 401, 404, 405] as const) {
      await withRegistry(
        { kind: "bearer", users, anonymousPull: false, oauthPost },
        async ({ pull, reg }) => {
          await pull({ ...alice, oauth2: true });
          const methods = tokenRequests(reg).map((r) => r.method);
          assert.deepEqual(
            methods,
            oauthPost === "ok" ? ["POST"] : ["POST", "GET"],
            String(oauthPost),
          );
        },
      );
    }
  });

  it("re-authenticates when a token expires, also when the 401 carries no challenge", async () => {
    for (const noChallenge of [false, true]) {
      await withRegistry(
        { kind: "bearer", tokenTtlSeconds: 1, omitExpiresIn: true, noChallenge },
        async ({ reg }) => {
          const img = await seedImage(reg, "team/other", 1024);
          const c = testClient();
          const repo = mockRepo(reg, "team/other");
          await c.getManifest(repo, "v1");
          await new Promise((r) => setTimeout(r, 1200));
          assert.equal((await c.getManifest(repo, img.manifestDigest)).digest, img.manifestDigest);
          assert.equal(tokenRequests(reg).length, 2, `noChallenge=${noChallenge}`);
          await c.close();
        },
      );
    }
  });

  it("fetches ONE token for many concurrent requests of a scope", async () => {
    await withRegistry({ kind: "bearer" }, async ({ reg }) => {
      const img = await seedImage(reg, "team/many", 64 * 1024);
      reg.resetStats();
      const c = testClient({ maxRangesPerRequest: 1 });
      const ref = {
        ...mockRepo(reg, "team/many"),
        digest: img.layerDigest,
        size: img.layer.length,
      };
      const ranges = Array.from({ length: 16 }, (_, i) => ({ offset: i * 4096, length: 100 }));
      await Promise.all([
        c.fetchRanges(ref, ranges.slice(0, 8)),
        c.fetchRanges(ref, ranges.slice(8)),
        c.getManifest(mockRepo(reg, "team/many"), "v1"),
      ]);
      assert.equal(tokenRequests(reg).length, 1);
      assert.equal(c.stats().tokenFetches, 1);
      await c.close();
    });
  });

  it("reads credentials from an auth file", async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    await withRegistry({ kind: "basic", users }, async ({ pull, reg }) => {
      const dir = await mkdtemp(join(tmpdir(), "chunkpull-auth-"));
      const file = join(dir, "auth.json");
      await writeFile(
        file,
        JSON.stringify({
          auths: { [reg.host]: { auth: Buffer.from("alice:s3cret").toString("base64") } },
        }),
      );
      await pull({ authFile: file, noAuthFiles: false });
    });
  });
});
