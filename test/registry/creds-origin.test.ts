/**
 * Credentials stay with their origin. One set of credentials (`--creds user:pass`) belongs to
 * the reference's registry: a redirect target on another origin, a token realm on another host,
 * or any hop of a 3xx chain must never receive it, whatever they answer. Each "foreign" server
 * here records every header and body it is sent, and the tests assert the secret never shows up.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pull } from "../../src/pull/pull.js";
import { CredentialStore } from "../../src/registry/auth/credentials.js";
import { realmTrust } from "../../src/registry/auth/realm.js";
import { sha256, testClient } from "./helpers.js";

const USER = "alice";
const SECRET = "s3cret-never-leaves-home";
const BASIC = `Basic ${Buffer.from(`${USER}:${SECRET}`).toString("base64")}`;

interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  body: string;
}

interface Server {
  host: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse, self: Server) => void,
): Promise<Server> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        path: req.url ?? "",
        auth: req.headers.authorization,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      handler(req, res, self);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const self: Server = {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
  return self;
}

/** Nothing the foreign server saw carries the user's secret, in any header or body. */
function assertNoSecret(s: Server, what: string): void {
  for (const r of s.seen) {
    assert.notEqual(
      r.auth,
      BASIC,
      `${what}: ${r.method} ${r.path} carried the user's Basic credentials`,
    );
    const decoded = r.auth?.startsWith("Basic ")
      ? Buffer.from(r.auth.slice(6), "base64").toString("utf8")
      : (r.auth ?? "");
    assert.ok(
      !decoded.includes(SECRET),
      `${what}: ${r.method} ${r.path} Authorization holds the secret`,
    );
    assert.ok(!r.body.includes(SECRET), `${what}: ${r.method} ${r.path} body holds the secret`);
    assert.ok(!decodeURIComponent(r.path).includes(SECRET), `${what}: ${r.path} holds the secret`);
  }
}

/** A registry that wants the user's Basic credentials and redirects blob GETs to `target()`. */
function basicRegistryRedirecting(target: () => string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== BASIC) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="home"' });
      return void res.end();
    }
    if (req.url === "/v2/") return void res.end("{}");
    res.writeHead(307, { location: target() + (req.url ?? "") });
    res.end();
  };
}

const blob = randomBytes(3000);
const digest = sha256(blob);
const single = { username: USER, password: SECRET };

describe("credentials stay with their origin", () => {
  it("a redirect target answering a Basic challenge never gets the registry's credentials", async () => {
    const foreign = await listen((_req, res) => {
      res.writeHead(401, { "www-authenticate": 'Basic realm="foreign"' });
      res.end();
    });
    const home = await listen(basicRegistryRedirecting(() => `http://${foreign.host}/storage`));
    const c = testClient({ credentials: single, retries: 0 });
    try {
      await assert.rejects(
        c.fetchRanges({ registry: home.host, repository: "r", digest, size: blob.length }, [
          { offset: 0, length: 10 },
        ]),
        (e: Error & { code?: string }) => e.code === "EUNAUTHORIZED" || e.code === "EREGISTRY",
      );
      assert.ok(foreign.seen.length > 0, "the redirect reached the foreign origin");
      assertNoSecret(foreign, "Basic-challenging redirect target");
    } finally {
      await c.close();
      await home.close();
      await foreign.close();
    }
  });

  it("a redirect target with its own Bearer realm gets an anonymous token request only", async () => {
    const foreign = await listen((req, res, self) => {
      if (req.url?.startsWith("/token")) {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ token: "foreign-token" }));
      }
      if (req.headers.authorization !== "Bearer foreign-token") {
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${self.host}/token",service="foreign"`,
        });
        return void res.end();
      }
      res.writeHead(206, { "content-range": `bytes 0-9/${blob.length}` });
      res.end(blob.subarray(0, 10));
    });
    const home = await listen(basicRegistryRedirecting(() => `http://${foreign.host}/storage`));
    const c = testClient({ credentials: single, retries: 0 });
    try {
      const [got] = await c.fetchRanges(
        { registry: home.host, repository: "r", digest, size: blob.length },
        [{ offset: 0, length: 10 }],
      );
      assert.deepEqual(got, blob.subarray(0, 10));
      assert.ok(
        foreign.seen.some((r) => r.path.startsWith("/token")),
        "foreign token asked",
      );
      assertNoSecret(foreign, "Bearer-challenging redirect target");
      assert.equal(foreign.seen.find((r) => r.path.startsWith("/token"))!.auth, undefined);
    } finally {
      await c.close();
      await home.close();
      await foreign.close();
    }
  });

  it("the registry's own Bearer realm on another host gets no credentials unless configured for it", async () => {
    const realm = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ token: "t" }));
    });
    const home = await listen((req, res) => {
      if (req.headers.authorization !== "Bearer t") {
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${realm.host}/token",service="home"`,
        });
        return void res.end();
      }
      if (req.url === "/v2/") return void res.end("{}");
      res.writeHead(206, { "content-range": `bytes 0-9/${blob.length}` });
      res.end(blob.subarray(0, 10));
    });
    const ref = { registry: home.host, repository: "r", digest, size: blob.length };
    try {
      const c = testClient({ credentials: single, retries: 0 });
      await c.fetchRanges(ref, [{ offset: 0, length: 10 }]);
      await c.close();
      assert.ok(realm.seen.length > 0, "the realm was asked for a token");
      assertNoSecret(realm, "foreign token realm");

      // Named by the auth configuration: the realm host gets the credentials configured FOR IT.
      realm.seen.length = 0;
      const realmCreds = { username: "realm-user", password: "realm-pw" };
      const named = testClient({
        credentials: { [home.host]: single, [realm.host]: realmCreds },
        retries: 0,
      });
      await named.fetchRanges(ref, [{ offset: 0, length: 10 }]);
      await named.close();
      assertNoSecret(realm, "configured token realm");
      assert.equal(
        realm.seen[0]?.auth,
        `Basic ${Buffer.from("realm-user:realm-pw").toString("base64")}`,
      );
    } finally {
      await home.close();
      await realm.close();
    }
  });

  it("a 3xx chain through the home origin and two foreign origins carries no credentials abroad", async () => {
    const second = await listen((_req, res) => {
      res.writeHead(401, { "www-authenticate": 'Basic realm="second"' });
      res.end();
    });
    const first = await listen((req, res) => {
      res.writeHead(308, { location: `http://${second.host}/final${req.url}` });
      res.end();
    });
    const home = await listen((req, res) => {
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="home"' });
        return void res.end();
      }
      if (req.url === "/v2/") return void res.end("{}");
      // First hop stays home (credentials kept), the next ones leave.
      if (!req.url?.startsWith("/hop")) {
        res.writeHead(302, { location: `/hop${req.url}` });
        return void res.end();
      }
      res.writeHead(307, { location: `http://${first.host}/storage${req.url}` });
      res.end();
    });
    const c = testClient({ credentials: single, retries: 0 });
    try {
      await assert.rejects(
        c.fetchRanges({ registry: home.host, repository: "r", digest, size: blob.length }, [
          { offset: 0, length: 10 },
        ]),
      );
      assert.ok(home.seen.some((r) => r.path.startsWith("/hop") && r.auth === BASIC));
      assert.ok(first.seen.length > 0 && second.seen.length > 0, "the chain was followed");
      assertNoSecret(first, "first foreign hop");
      assertNoSecret(second, "second foreign hop");
    } finally {
      await c.close();
      await home.close();
      await first.close();
      await second.close();
    }
  });

  it("an OAuth2 token POST redirected to another origin does not carry the password there", async () => {
    const foreign = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ token: "stolen" }));
    });
    const home = await listen((req, res, self) => {
      if (req.url?.startsWith("/token")) {
        if (req.method === "POST") {
          res.writeHead(307, { location: `http://${foreign.host}/collect` });
          return void res.end();
        }
        if (req.headers.authorization !== BASIC) {
          res.writeHead(401);
          return void res.end();
        }
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ token: "good" }));
      }
      if (req.headers.authorization !== "Bearer good") {
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${self.host}/token",service="home"`,
        });
        return void res.end();
      }
      if (req.url === "/v2/") return void res.end("{}");
      res.writeHead(206, { "content-range": `bytes 0-9/${blob.length}` });
      res.end(blob.subarray(0, 10));
    });
    const c = testClient({ credentials: single, retries: 0, oauth2: true });
    try {
      const [got] = await c.fetchRanges(
        { registry: home.host, repository: "r", digest, size: blob.length },
        [{ offset: 0, length: 10 }],
      );
      assert.deepEqual(got, blob.subarray(0, 10));
      assertNoSecret(foreign, "redirected OAuth2 POST");
    } finally {
      await c.close();
      await home.close();
      await foreign.close();
    }
  });

  it("credentials bound to a host list reach only those hosts (mirrors are not bound by default)", async () => {
    const mirror = await listen((_req, res) => {
      res.writeHead(401, { "www-authenticate": 'Basic realm="mirror"' });
      res.end();
    });
    const home = await listen((req, res) => {
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="home"' });
        return void res.end();
      }
      if (req.url === "/v2/") return void res.end("{}");
      res.writeHead(206, { "content-range": `bytes 0-9/${blob.length}` });
      res.end(blob.subarray(0, 10));
    });
    const c = testClient({
      credentials: single,
      credentialHosts: [home.host],
      mirrors: { [home.host]: [mirror.host] },
      retries: 0,
    });
    try {
      // The mirror refuses (it gets no credentials); the walk falls through to the registry.
      const [got] = await c.fetchRanges(
        { registry: home.host, repository: "r", digest, size: blob.length },
        [{ offset: 0, length: 10 }],
      );
      assert.deepEqual(got, blob.subarray(0, 10));
      assert.ok(mirror.seen.length > 0, "the mirror was tried first");
      assertNoSecret(mirror, "unbound mirror");
    } finally {
      await c.close();
      await home.close();
      await mirror.close();
    }
  });

  it("pull(): --creds are bound to the reference's registry, not to its token realm", async () => {
    const realm = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ token: "t" }));
    });
    const home = await listen((req, res) => {
      if (req.headers.authorization !== "Bearer t") {
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${realm.host}/token",service="home"`,
        });
        return void res.end();
      }
      if (req.url === "/v2/") return void res.end("{}");
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "no" }] }));
    });
    const store = await mkdtemp(join(tmpdir(), "chunkpull-creds-pull-"));
    try {
      await assert.rejects(
        pull(`${home.host}/app:v1`, { store, plainHttp: true, credentials: single }),
        (e: Error & { code?: string }) => e.code === "ENOTFOUND",
      );
      assert.ok(realm.seen.length > 0);
      assertNoSecret(realm, "pull's token realm");
    } finally {
      await home.close();
      await realm.close();
      await rm(store, { recursive: true, force: true });
    }
  });
});

describe("chunkpull pull --creds (the CLI as users run it)", () => {
  const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
  it("a blob redirect to a foreign origin with its own realm never sees --creds", async () => {
    const foreign = await listen((req, res, self) => {
      if (req.url?.startsWith("/token")) {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ token: "f" }));
      }
      res.writeHead(401, {
        "www-authenticate": `Bearer realm="http://${self.host}/token",service="foreign"`,
      });
      res.end();
    });
    const home = await listen(basicRegistryRedirecting(() => `http://${foreign.host}/storage`));
    const store = await mkdtemp(join(tmpdir(), "chunkpull-creds-cli-"));
    try {
      const run = promisify(execFile);
      const out = await run(
        process.execPath,
        [MAIN, "pull", `${home.host}/app:v1`, "--store", store, "--creds", `${USER}:${SECRET}`],
        { env: { ...process.env, HOME: store, DOCKER_CONFIG: store } },
      ).then(
        () => ({ code: 0 }),
        (e: { code?: number }) => ({ code: e.code }),
      );
      assert.equal(
        out.code,
        1,
        "the pull fails (the manifest is redirected to a host that has none)",
      );
      assert.ok(foreign.seen.length > 0, "the foreign origin was reached");
      assertNoSecret(foreign, "CLI --creds, foreign redirect target and realm");
      assert.ok(
        home.seen.some((r) => r.auth === BASIC),
        "the registry itself got --creds",
      );
    } finally {
      await home.close();
      await foreign.close();
      await rm(store, { recursive: true, force: true });
    }
  });
});

describe("token realm trust", () => {
  it("trusts the registry's own host and Docker Hub's auth server, refuses downgrades", () => {
    const reg = new URL("https://registry.example:5000/v2/");
    assert.equal(realmTrust(reg, "https://registry.example:5000/token"), "home");
    assert.equal(realmTrust(reg, "https://registry.example:6000/token"), "foreign");
    assert.equal(realmTrust(reg, "https://evil.example/token"), "foreign");
    assert.equal(realmTrust(reg, "http://registry.example:5000/token"), "downgrade");
    assert.equal(realmTrust(reg, "not a url"), "foreign");
    const hub = new URL("https://registry-1.docker.io/v2/");
    assert.equal(realmTrust(hub, "https://auth.docker.io/token"), "home");
    assert.equal(
      realmTrust(new URL("https://quay.io/v2/"), "https://auth.docker.io/token"),
      "foreign",
    );
  });

  it("configuredFor() never hands out an unbound single set; get() binds to credentialHosts", async () => {
    const open = new CredentialStore({ credentials: single, env: { HOME: "/nonexistent" } });
    assert.deepEqual(await open.get("a.example"), single);
    assert.equal(await open.configuredFor("a.example"), undefined);
    const bound = new CredentialStore({
      credentials: single,
      credentialHosts: ["docker.io"],
      env: { HOME: "/nonexistent" },
    });
    assert.deepEqual(await bound.get("registry-1.docker.io"), single);
    assert.deepEqual(await bound.configuredFor("registry-1.docker.io"), single);
    assert.equal(await bound.get("mirror.example"), undefined);
    // A mirror gets the set only when it is bound too (how mirror configuration plugs in).
    const withMirror = new CredentialStore({
      credentials: single,
      credentialHosts: ["docker.io", "mirror.example:5000"],
      env: { HOME: "/nonexistent" },
    });
    assert.deepEqual(await withMirror.get("mirror.example:5000"), single);
    assert.equal(await withMirror.get("mirror.example"), undefined);
  });
});
