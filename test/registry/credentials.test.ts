import assert from "node:assert/strict";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FormatError } from "../../src/errors.js";
import {
  CredentialStore,
  defaultAuthFiles,
  normalizeAuthKey,
  parseAuthFile,
} from "../../src/registry/auth/credentials.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), "chunkpull-creds-"));
}

describe("auth files", () => {
  it("normalises auths keys", () => {
    assert.equal(normalizeAuthKey("https://index.docker.io/v1/"), "docker.io");
    assert.equal(normalizeAuthKey("https://ghcr.io/v2/"), "ghcr.io");
    assert.equal(normalizeAuthKey("quay.io/org/repo"), "quay.io/org/repo");
    assert.equal(normalizeAuthKey("registry-1.docker.io"), "docker.io");
  });

  it("searches REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, ~/.config then ~/.docker", () => {
    assert.deepEqual(
      defaultAuthFiles({ HOME: "/h", REGISTRY_AUTH_FILE: "/a.json", XDG_RUNTIME_DIR: "/run/u" }),
      [
        "/a.json",
        "/run/u/containers/auth.json",
        "/h/.config/containers/auth.json",
        "/h/.docker/config.json",
      ],
    );
    assert.deepEqual(
      defaultAuthFiles({ HOME: "/h", DOCKER_CONFIG: "/d" }).at(-1),
      "/d/config.json",
    );
  });

  it("rejects malformed files naming the file", () => {
    assert.throws(
      () => parseAuthFile("{", "/x/config.json"),
      (e: unknown) => e instanceof FormatError && /\/x\/config\.json/.test(e.message),
    );
    assert.throws(() => parseAuthFile('{"auths": 3}', "f"), /"auths" must be an object/);
  });

  it("reads docker config.json auths (Docker Hub key) and prefers the most specific containers key", async () => {
    const dir = await tmp();
    await mkdir(join(dir, ".docker"));
    await writeFile(
      join(dir, ".docker", "config.json"),
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: b64("hubuser:hub:pass") },
          "quay.io": { auth: b64("q:1") },
          "quay.io/team": { auth: b64("team:2") },
          "ghcr.io": { identitytoken: "refresh-me" },
        },
      }),
    );
    const store = new CredentialStore({ env: { HOME: dir } });
    assert.deepEqual(await store.get("registry-1.docker.io", "library/alpine"), {
      username: "hubuser",
      password: "hub:pass",
    });
    assert.deepEqual(await store.get("quay.io", "team/app"), { username: "team", password: "2" });
    assert.deepEqual(await store.get("quay.io", "other/app"), { username: "q", password: "1" });
    assert.deepEqual(await store.get("ghcr.io", "x"), { identityToken: "refresh-me" });
    assert.equal(await store.get("example.com", "x"), undefined);
  });

  it("gives REGISTRY_AUTH_FILE precedence and runs credHelpers / credsStore", async () => {
    const dir = await tmp();
    const authFile = join(dir, "auth.json");
    await writeFile(
      authFile,
      JSON.stringify({ auths: { "a.example": { username: "fromfile", password: "p" } } }),
    );
    await mkdir(join(dir, ".docker"));
    await writeFile(
      join(dir, ".docker", "config.json"),
      JSON.stringify({
        auths: { "a.example": { auth: b64("docker:x") } },
        credHelpers: { "b.example": "ecr" },
        credsStore: "desktop",
      }),
    );
    const calls: string[] = [];
    const store = new CredentialStore({
      env: { HOME: dir, REGISTRY_AUTH_FILE: authFile },
      runHelper: async (helper, server) => {
        calls.push(`${helper} ${server}`);
        if (helper === "ecr")
          return JSON.stringify({ ServerURL: server, Username: "AWS", Secret: "tok" });
        if (server === "c.example") return JSON.stringify({ Username: "<token>", Secret: "idtok" });
        throw new Error("credentials not found in native keychain");
      },
    });
    assert.deepEqual(await store.get("a.example"), { username: "fromfile", password: "p" });
    assert.deepEqual(await store.get("b.example"), { username: "AWS", password: "tok" });
    assert.deepEqual(await store.get("c.example"), { identityToken: "idtok" });
    assert.equal(await store.get("d.example"), undefined);
    assert.deepEqual(calls, ["ecr b.example", "desktop c.example", "desktop d.example"]);
  });

  it("uses explicit credentials first, single or per registry", async () => {
    const one = new CredentialStore({
      credentials: { username: "u", password: "p" },
      env: { HOME: "/nonexistent" },
    });
    assert.deepEqual(await one.get("anything.example"), { username: "u", password: "p" });
    const map = new CredentialStore({
      credentials: {
        "docker.io": { username: "hub", password: "1" },
        "localhost:5000": { username: "l", password: "2" },
      },
      env: { HOME: "/nonexistent" },
    });
    assert.deepEqual(await map.get("registry-1.docker.io"), { username: "hub", password: "1" });
    assert.deepEqual(await map.get("localhost:5000"), { username: "l", password: "2" });
    assert.equal(await map.get("other.example"), undefined);
  });

  it("fails loudly when an explicit auth file is missing", async () => {
    const store = new CredentialStore({ authFile: "/nonexistent/auth.json" });
    await assert.rejects(store.get("x.example"), /ENOENT/);
  });
});
