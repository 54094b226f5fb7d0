import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type MockRegistry,
  type MockRegistryOptions,
  startMockRegistry,
} from "../../mock-registry/src/index.js";
import { pattern, raw } from "./client.js";

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;

async function withRegistry(options: MockRegistryOptions, fn: (r: MockRegistry) => Promise<void>) {
  const reg = await startMockRegistry(options);
  try {
    await fn(reg);
  } finally {
    await reg.close();
  }
}

/** Parse `Bearer realm="..",service="..",scope=".."` (quoted values may contain commas). */
function challenge(header: unknown): Record<string, string> {
  const text = String(header);
  assert.match(text, /^Bearer /);
  const out: Record<string, string> = {};
  for (const m of text.slice(7).matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

async function getToken(c: Record<string, string>, scope: string | undefined, auth?: string) {
  const q = new URLSearchParams({ service: c["service"]! });
  if (scope) q.set("scope", scope);
  const r = await raw(`${c["realm"]}?${q}`, auth ? { headers: { Authorization: auth } } : {});
  return {
    status: r.status,
    body: r.status === 200 ? (JSON.parse(r.body.toString()) as Record<string, unknown>) : {},
  };
}

describe("auth modes", () => {
  test("none: everything open", async () => {
    await withRegistry({ auth: { kind: "none" } }, async (reg) => {
      assert.equal((await raw(`${reg.url}/v2/`)).status, 200);
    });
  });

  test("basic: 401 with Basic challenge, good credentials pass, bad ones do not", async () => {
    await withRegistry({ auth: { kind: "basic", users: { alice: "s3cret" } } }, async (reg) => {
      const d = await reg.putBlob("b/repo", pattern(10));
      const no = await raw(`${reg.url}/v2/b/repo/blobs/${d}`);
      assert.equal(no.status, 401);
      assert.equal(no.headers["www-authenticate"], 'Basic realm="mock-registry"');
      assert.equal(JSON.parse(no.body.toString()).errors[0].code, "UNAUTHORIZED");
      const bad = await raw(`${reg.url}/v2/`, {
        headers: { Authorization: basic("alice", "nope") },
      });
      assert.equal(bad.status, 401);
      const ok = await raw(`${reg.url}/v2/b/repo/blobs/${d}`, {
        headers: { Authorization: basic("alice", "s3cret") },
      });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, pattern(10));
    });
  });

  test("bearer: ping challenge without scope, anonymous pull token, push needs credentials", async () => {
    await withRegistry({ auth: { kind: "bearer", users: { bob: "pw" } } }, async (reg) => {
      const d = await reg.putBlob("lib/app", pattern(100));
      const ping = await raw(`${reg.url}/v2/`);
      assert.equal(ping.status, 401);
      const pc = challenge(ping.headers["www-authenticate"]);
      assert.equal(pc["realm"], `${reg.url}/token`);
      assert.equal(pc["service"], "mock-registry");
      assert.equal(pc["scope"], undefined);

      const blobUrl = `${reg.url}/v2/lib/app/blobs/${d}`;
      const first = await raw(blobUrl);
      assert.equal(first.status, 401);
      const c = challenge(first.headers["www-authenticate"]);
      assert.equal(c["scope"], "repository:lib/app:pull");
      const anon = await getToken(c, c["scope"]);
      assert.equal(anon.status, 200);
      assert.equal(typeof anon.body["token"], "string");
      assert.equal(anon.body["expires_in"], 300);
      assert.ok(typeof anon.body["issued_at"] === "string");
      const bearer = { Authorization: `Bearer ${anon.body["token"]}` };
      assert.equal((await raw(blobUrl, { headers: bearer })).status, 200);
      assert.equal((await raw(`${reg.url}/v2/`, { headers: bearer })).status, 200);

      // Push with the anonymous token: insufficient scope, challenge asks for pull,push.
      const post = await raw(`${reg.url}/v2/lib/app/blobs/uploads/`, {
        method: "POST",
        headers: bearer,
      });
      assert.equal(post.status, 401);
      const pcs = challenge(post.headers["www-authenticate"]);
      assert.equal(pcs["scope"], "repository:lib/app:pull,push");
      assert.equal(pcs["error"], "insufficient_scope");
      const anonPush = await getToken(pcs, pcs["scope"]);
      const stillPull = { Authorization: `Bearer ${anonPush.body["token"]}` };
      assert.equal(
        (await raw(`${reg.url}/v2/lib/app/blobs/uploads/`, { method: "POST", headers: stillPull }))
          .status,
        401,
      );

      const bad = await getToken(pcs, pcs["scope"], basic("bob", "wrong"));
      assert.equal(bad.status, 401);
      const bobs = await getToken(pcs, pcs["scope"], basic("bob", "pw"));
      const push = await raw(`${reg.url}/v2/lib/app/blobs/uploads/`, {
        method: "POST",
        headers: { Authorization: `Bearer ${bobs.body["token"]}` },
      });
      assert.equal(push.status, 202);
      // A token for one repository does not open another.
      const elsewhere = await raw(`${reg.url}/v2/lib/other/tags/list`, { headers: bearer });
      assert.equal(elsewhere.status, 401);
      assert.equal(challenge(elsewhere.headers["www-authenticate"])["error"], "insufficient_scope");
      // Garbage token: invalid_token.
      const garbage = await raw(blobUrl, { headers: { Authorization: "Bearer abc.def" } });
      assert.equal(challenge(garbage.headers["www-authenticate"])["error"], "invalid_token");
      // Basic credentials straight to the registry are not accepted in bearer mode.
      assert.equal(
        (await raw(blobUrl, { headers: { Authorization: basic("bob", "pw") } })).status,
        401,
      );
    });
  });

  test("bearer: several scopes in one request, names with host:port, partial grants", async () => {
    await withRegistry({ auth: { kind: "bearer", users: { bob: "pw" } } }, async (reg) => {
      const d = await reg.putBlob("a/one", pattern(5));
      await reg.putBlob("a/two", pattern(5));
      const c = { realm: `${reg.url}/token`, service: "mock-registry" };
      const q = new URLSearchParams({ service: c.service });
      q.append("scope", "repository:a/one:pull repository:a/two:pull,push");
      q.append("scope", "repository:localhost:5000/x:pull");
      const r = await raw(`${c.realm}?${q}`);
      const token = String(JSON.parse(r.body.toString()).token);
      const payload = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString());
      assert.deepEqual(payload.access, [
        { type: "repository", name: "a/one", actions: ["pull"] },
        { type: "repository", name: "a/two", actions: ["pull"] },
        { type: "repository", name: "localhost:5000/x", actions: ["pull"] },
      ]);
      const h = { Authorization: `Bearer ${token}` };
      assert.equal((await raw(`${reg.url}/v2/a/one/blobs/${d}`, { headers: h })).status, 200);
      assert.equal((await raw(`${reg.url}/v2/a/two/blobs/${d}`, { headers: h })).status, 200);
    });
  });

  test("bearer: token fields, expiry, no-challenge mode, 403 mode, access rules, anonymous off", async () => {
    const users = { bob: "pw", eve: "pw" };
    await withRegistry(
      {
        auth: {
          kind: "bearer",
          users,
          tokenTtlSeconds: 1,
          tokenField: "access_token",
          noChallenge: true,
          omitExpiresIn: true,
          issuedAt: false,
          insufficientScopeStatus: 403,
          anonymousPull: false,
          access: [
            { user: "bob", repo: "team/*", actions: ["pull", "push"] },
            { user: "eve", repo: "team/public", actions: ["pull"] },
          ],
        },
      },
      async (reg) => {
        const d = await reg.putBlob("team/public", pattern(5));
        const c = { realm: `${reg.url}/token`, service: "mock-registry" };
        const ping = await raw(`${reg.url}/v2/`);
        assert.ok(ping.headers["www-authenticate"], "ping keeps its challenge");
        const noCh = await raw(`${reg.url}/v2/team/public/blobs/${d}`);
        assert.equal(noCh.status, 401);
        assert.equal(noCh.headers["www-authenticate"], undefined);
        const anon = await getToken(c, "repository:team/public:pull");
        assert.equal(anon.body["token"], undefined);
        assert.equal(anon.body["expires_in"], undefined);
        assert.equal(anon.body["issued_at"], undefined);
        const anonH = { Authorization: `Bearer ${anon.body["access_token"]}` };
        assert.equal(
          (await raw(`${reg.url}/v2/team/public/blobs/${d}`, { headers: anonH })).status,
          403,
        );
        const eve = await getToken(c, "repository:team/public:pull,push", basic("eve", "pw"));
        const eveH = { Authorization: `Bearer ${eve.body["access_token"]}` };
        assert.equal(
          (await raw(`${reg.url}/v2/team/public/blobs/${d}`, { headers: eveH })).status,
          200,
        );
        const evePush = await raw(`${reg.url}/v2/team/public/blobs/uploads/`, {
          method: "POST",
          headers: eveH,
        });
        assert.equal(evePush.status, 403);
        assert.equal(JSON.parse(evePush.body.toString()).errors[0].code, "DENIED");
        const bob = await getToken(c, "repository:team/public:pull,push", basic("bob", "pw"));
        const bobH = { Authorization: `Bearer ${bob.body["access_token"]}` };
        assert.equal(
          (await raw(`${reg.url}/v2/team/public/blobs/uploads/`, { method: "POST", headers: bobH }))
            .status,
          202,
        );
        await new Promise((r) => setTimeout(r, 1100));
        const expired = await raw(`${reg.url}/v2/team/public/blobs/${d}`, { headers: bobH });
        assert.equal(expired.status, 401, "token expired after tokenTtlSeconds");
      },
    );
  });

  test("bearer: tokenField both; OAuth2 POST password and refresh grants; POST refused by mode", async () => {
    await withRegistry(
      { auth: { kind: "bearer", users: { bob: "pw" }, tokenField: "both" } },
      async (reg) => {
        const g = await getToken(
          { realm: `${reg.url}/token`, service: "mock-registry" },
          "repository:x:pull",
        );
        assert.equal(g.body["token"], g.body["access_token"]);
        const form = new URLSearchParams({
          grant_type: "password",
          username: "bob",
          password: "pw",
          service: "mock-registry",
          client_id: "test",
          scope: "repository:x:pull repository:y:push",
          access_type: "offline",
        });
        const post = await raw(`${reg.url}/token`, {
          method: "POST",
          body: form.toString(),
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
        });
        assert.equal(post.status, 200);
        const pb = JSON.parse(post.body.toString());
        assert.equal(typeof pb.access_token, "string");
        assert.equal(typeof pb.refresh_token, "string");
        const refresh = await raw(`${reg.url}/token`, {
          method: "POST",
          body: new URLSearchParams({
            grant_type: "refresh_token",
            refresh_token: pb.refresh_token,
            scope: "repository:x:pull",
            service: "mock-registry",
            client_id: "t",
          }).toString(),
        });
        assert.equal(refresh.status, 200);
        const wrong = await raw(`${reg.url}/token`, {
          method: "POST",
          body: new URLSearchParams({
            grant_type: "password",
            username: "bob",
            password: "x",
          }).toString(),
        });
        assert.equal(wrong.status, 401);
      },
    );
    for (const status of [404, 405, 401, 400] as const) {
      await withRegistry(
        { auth: { kind: "bearer", users: { bob: "pw" }, oauthPost: status } },
        async (reg) => {
          const r = await raw(`${reg.url}/token`, {
            method: "POST",
            body: "grant_type=password&username=bob&password=pw",
          });
          assert.equal(r.status, status);
          assert.equal(
            (await raw(`${reg.url}/token?service=mock-registry`)).status,
            200,
            "GET still works",
          );
        },
      );
    }
  });

  test("bearer: cross-repository mount needs pull on the source", async () => {
    await withRegistry(
      {
        auth: {
          kind: "bearer",
          users: { bob: "pw" },
          anonymousPull: false,
          access: [{ user: "bob", repo: "dst", actions: ["pull", "push"] }],
        },
      },
      async (reg) => {
        const d = await reg.putBlob("src", pattern(8));
        const t = await getToken(
          { realm: `${reg.url}/token`, service: "mock-registry" },
          "repository:dst:pull,push repository:src:pull",
          basic("bob", "pw"),
        );
        const r = await raw(`${reg.url}/v2/dst/blobs/uploads/?mount=${d}&from=src`, {
          method: "POST",
          headers: { Authorization: `Bearer ${t.body["token"]}` },
        });
        assert.equal(r.status, 202, "no pull on src: a new upload session instead of a mount");
      },
    );
  });
});
