/**
 * registries.conf (with drop-ins), hosts.toml directories and certs.d read from the fixtures in
 * test/fixtures/fleet (never the machine's /etc), and the endpoint lists they produce.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { FormatError } from "../../src/errors.js";
import { readCertsDir } from "../../src/registry/config/certs-d.js";
import { loadHostsDir, parseHostsToml } from "../../src/registry/config/hosts-toml.js";
import { loadRegistryConfig, qualifyReference } from "../../src/registry/config/index.js";
import {
  explicitRegistriesConfPaths,
  findRegistry,
  loadRegistriesConf,
  parseRegistriesConf,
} from "../../src/registry/config/registries-conf.js";
import { BlockedRegistryError, Routes } from "../../src/registry/mirrors.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/fleet");
const CONF = join(FIXTURES, "registries.conf");

function conf() {
  return loadRegistriesConf(explicitRegistriesConfPaths(CONF), CONF);
}

/** Endpoints as `origin apiRoot/repository [mirror]` strings, easy to compare. */
function list(routes: Routes, registry: string, repo: string, lookup: "tag" | "digest"): string[] {
  return routes
    .endpoints(registry, repo, lookup)
    .map((e) => `${e.origin}${e.apiRoot}/${e.repository}${e.mirror ? " mirror" : ""}`);
}

describe("registries.conf", () => {
  it("reads the main file, then drop-ins in name order (same prefix replaces)", () => {
    const c = conf();
    assert.deepEqual(c.sources, [
      CONF,
      join(`${CONF}.d`, "10-override.conf"),
      join(`${CONF}.d`, "20-unblock.conf"),
    ]);
    assert.deepEqual(c.unqualifiedSearchRegistries, ["registry.example:5000", "docker.io"]);
    const quay = findRegistry(c, "quay.io/org/app");
    assert.deepEqual(
      quay?.mirrors.map((m) => m.location),
      ["quay-cache.internal"],
    );
    const ghcr = findRegistry(c, "ghcr.io/org/app");
    assert.equal(ghcr?.blocked, false);
    assert.deepEqual(
      ghcr?.mirrors.map((m) => m.location),
      ["ghcr-mirror.internal"],
    );
    const hub = findRegistry(c, "docker.io/library/alpine");
    assert.deepEqual(
      hub?.mirrors.map((m) => [m.location, m.pullFromMirror, m.insecure]),
      [
        ["mirror.internal:5000/dockerhub", "all", false],
        ["tags-unsafe.internal", "digest-only", false],
        ["insecure-mirror.internal:8443", "all", true],
      ],
    );
  });

  it("matches prefixes at path boundaries, longest first, wildcards last", () => {
    const c = conf();
    assert.equal(
      findRegistry(c, "registry.example:5000/team/app")?.prefix,
      "registry.example:5000/team",
    );
    assert.equal(findRegistry(c, "registry.example:5000/teamster/app"), undefined);
    assert.equal(findRegistry(c, "a.wild.example/x")?.prefix, "*.wild.example");
    assert.equal(findRegistry(c, "wild.example/x"), undefined);
  });

  it("turns the configuration into endpoint lists: mirrors first, tags only where allowed", () => {
    const routes = new Routes({ registriesConf: conf() });
    assert.deepEqual(list(routes, "docker.io", "library/alpine", "digest"), [
      "https://mirror.internal:5000/v2/dockerhub/library/alpine mirror",
      "https://tags-unsafe.internal/v2/library/alpine mirror",
      "https://insecure-mirror.internal:8443/v2/library/alpine mirror",
      "http://insecure-mirror.internal:8443/v2/library/alpine mirror",
      "https://registry-1.docker.io/v2/library/alpine",
    ]);
    // A digest-only mirror is never asked what a tag points to.
    assert.deepEqual(list(routes, "docker.io", "library/alpine", "tag"), [
      "https://mirror.internal:5000/v2/dockerhub/library/alpine mirror",
      "https://insecure-mirror.internal:8443/v2/library/alpine mirror",
      "http://insecure-mirror.internal:8443/v2/library/alpine mirror",
      "https://registry-1.docker.io/v2/library/alpine",
    ]);
    // location relocates the prefix, keeping the rest of the name.
    assert.deepEqual(list(routes, "registry.example:5000", "team/app", "tag"), [
      "https://team-registry.example/v2/products/team/app",
    ]);
    assert.throws(() => routes.endpoints("blocked.example", "x/y", "digest"), BlockedRegistryError);
    // The insecure registry is tried over TLS first (unverified), then plain HTTP.
    assert.deepEqual(list(routes, "a.wild.example", "x", "digest"), [
      "https://a.wild.example/v2/x",
      "http://a.wild.example/v2/x",
    ]);
    assert.deepEqual(routes.tlsFor("https://a.wild.example"), { rejectUnauthorized: false });
    assert.equal(routes.tlsFor("https://registry-1.docker.io"), undefined);
  });

  it("qualifies short names with the first unqualified-search registry", () => {
    const c = conf();
    assert.equal(qualifyReference("app:v1", c), "registry.example:5000/app:v1");
    assert.equal(qualifyReference("team/app", c), "registry.example:5000/team/app");
    assert.equal(qualifyReference("ghcr.io/o/a", c), "ghcr.io/o/a");
    assert.equal(qualifyReference("localhost/a", c), "localhost/a");
    assert.equal(qualifyReference("app", { registries: [], sources: [] }), "app");
  });

  it("reads the version 1 format older systems still ship", () => {
    const v1 = parseRegistriesConf(
      '[registries.search]\nregistries = ["quay.io", "docker.io"]\n[registries.insecure]\nregistries = ["lan.example:5000"]\n[registries.block]\nregistries = ["evil.example"]\n',
      "/v1.conf",
    );
    assert.deepEqual(v1.unqualifiedSearchRegistries, ["quay.io", "docker.io"]);
    assert.equal(findRegistry(v1, "lan.example:5000/a")?.insecure, true);
    assert.equal(findRegistry(v1, "evil.example/a")?.blocked, true);
  });

  it("rejects malformed files with the file and key named", () => {
    const bad = (text: string, re: RegExp) =>
      assert.throws(
        () => parseRegistriesConf(text, "/x.conf"),
        (e: unknown) => {
          assert.ok(e instanceof FormatError);
          assert.match(e.message, re);
          return true;
        },
      );
    bad("[[registry]\n", /\/x\.conf: invalid TOML/);
    bad("[registries.search]\nregistries = 3\n", /\[registries.search\] needs a "registries" list/);
    bad(
      '[[registry]]\nprefix = "a"\n[[registry.mirror]]\nlocation = "m"\npull-from-mirror = "some"\n',
      /pull-from-mirror/,
    );
    bad('[[registry]]\nprefix = "a"\ninsecure = "yes"\n', /"insecure" must be true or false/);
    bad('[[registry]]\nprefix = "*.a.b"\nlocation = "c"\n', /wildcard/);
    bad('[[registry]]\nlocation = "https://a"\n', /must not have a scheme/);
    bad("unqualified-search-registries = 3\n", /unqualified-search-registries/);
    bad("[[registry]]\ninsecure = true\n", /needs a "prefix" or a "location"/);
  });

  it("reads nothing from the system with noSystemConfig, and an explicit file must exist", () => {
    const none = loadRegistryConfig({ noSystemConfig: true });
    assert.deepEqual(none, {
      registriesConf: { registries: [], sources: [] },
      hostsDirs: [],
      certsDirs: [],
    });
    assert.throws(
      () => loadRegistryConfig({ registriesConf: join(FIXTURES, "missing.conf") }),
      FormatError,
    );
  });

  it("follows CONTAINERS_REGISTRIES_CONF and the user file in place of the system one", async () => {
    const home = await mkdtemp(join(tmpdir(), "chunkpull-conf-"));
    const viaEnv = loadRegistryConfig({ env: { CONTAINERS_REGISTRIES_CONF: CONF, HOME: home } });
    assert.deepEqual(viaEnv.registriesConf.sources, [CONF]);
    await mkdir(join(home, ".config", "containers"), { recursive: true });
    const user = join(home, ".config", "containers", "registries.conf");
    await writeFile(user, 'unqualified-search-registries = ["u.example"]\n');
    const viaHome = loadRegistryConfig({ env: { HOME: home } });
    assert.equal(viaHome.registriesConf.sources[0], user);
    assert.ok(!viaHome.registriesConf.sources.includes("/etc/containers/registries.conf"));
  });
});

describe("hosts.toml and certs.d", () => {
  it("reads server, hosts in file order, capabilities, override_path and TLS files", () => {
    const h = loadHostsDir(join(FIXTURES, "hosts"), "docker.io");
    assert.ok(h);
    assert.equal(h.server?.origin, "https://registry-1.docker.io");
    assert.deepEqual(
      h.hosts.map((x) => [x.origin, x.apiRoot, x.pull, x.resolve]),
      [
        ["http://127.0.0.1:30020", "/v2", true, true],
        ["https://cache.internal:5000", "/v2", true, false],
        ["https://harbor.internal", "/v2/dockerhub-proxy", true, true],
      ],
    );
    assert.match(String(h.hosts[1]!.tls?.ca), /fixture cache CA/);
    assert.match(String(h.hosts[1]!.tls?.key), /fixture client key/);
    assert.equal(h.hosts[2]!.tls?.rejectUnauthorized, false);
    // A path without override_path gets /v2 appended.
    const ex = loadHostsDir(join(FIXTURES, "hosts"), "registry.example:5000");
    assert.equal(ex?.hosts[0]?.apiRoot, "/custom/v2");
    assert.equal(ex?.serverTls?.rejectUnauthorized, false);
    // No directory of its own: _default applies.
    assert.equal(
      loadHostsDir(join(FIXTURES, "hosts"), "quay.io")?.hosts[0]?.origin,
      "http://127.0.0.1:30021",
    );
  });

  it("makes hosts.toml mirrors endpoints, tags only from hosts that may resolve", () => {
    const routes = new Routes({ hostsDirs: [join(FIXTURES, "hosts")] });
    assert.deepEqual(list(routes, "docker.io", "library/alpine", "tag"), [
      "http://127.0.0.1:30020/v2/library/alpine mirror",
      "https://harbor.internal/v2/dockerhub-proxy/library/alpine mirror",
      "https://registry-1.docker.io/v2/library/alpine",
    ]);
    assert.equal(list(routes, "docker.io", "library/alpine", "digest").length, 4);
    assert.match(String(routes.tlsFor("https://cache.internal:5000")?.cert), /fixture client cert/);
    assert.deepEqual(routes.tlsFor("https://harbor.internal"), { rejectUnauthorized: false });
  });

  it("takes CAs and a client pair per host from certs.d", () => {
    const tls = readCertsDir([join(FIXTURES, "certs.d")], "registry.example:5000");
    assert.ok(tls);
    assert.equal((tls.ca as Buffer[]).length, 1);
    assert.match(String(tls.cert), /fixture client/);
    assert.match(String(tls.key), /fixture key/);
    assert.equal(readCertsDir([join(FIXTURES, "certs.d")], "other.example"), undefined);
  });

  it("rejects bad hosts.toml values", () => {
    assert.throws(() => parseHostsToml('[host."ftp://x"]\n', "/h.toml"), /must be http or https/);
    assert.throws(
      () => parseHostsToml('[host."https://x"]\ncapabilities = ["fly"]\n', "/h.toml"),
      /unknown capability/,
    );
    assert.throws(
      () => parseHostsToml('[host."https://x"]\nca = "/nonexistent/ca.crt"\n', "/h.toml"),
      /cannot read/,
    );
  });
});
