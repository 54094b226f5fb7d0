/**
 * A mirror is never trusted: a mirror serving wrong blob bytes (the mock registry corrupting a
 * byte) is caught and skipped; a mirror not allowed to resolve tags is never asked for one;
 * range capabilities are learned per mirror; credentials and TLS settings are taken per host
 * (a basic-auth, TLS pull-through cache in front of the real origin).
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pushImage } from "../../mock-registry/src/image/build.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { pull } from "../../src/pull/pull.js";
import { CapabilityStore } from "../../src/registry/capabilities.js";
import { warm } from "../../src/registry/warm.js";
import { toolSkip } from "../helpers/docker-registry.js";
import { freshStore } from "../pull/helpers.js";
import {
  fleetClient,
  hostsDir,
  type Origin,
  REPO,
  registriesConf,
  selfSignedCert,
  startCache,
  startOrigin,
} from "./helpers.js";

const skip = toolSkip(["docker-registry", "htpasswd", "openssl"]);

describe("mirrors are not trusted", { skip }, () => {
  let origin: Origin;
  let liar: MockRegistry;
  before(async () => {
    origin = await startOrigin();
    // The lying mirror holds the same image, but its tag v1 points at v2, and every blob it
    // sends has byte 300 flipped (manifests are sent intact).
    liar = await startMockRegistry();
    await pushImage(liar, REPO, "v1", origin.images.v1);
    await pushImage(liar, REPO, "v2", origin.images.v2);
    await liar.putManifest(REPO, "v1", origin.images.v2.manifest, origin.images.v2.mediaType);
    liar.setModes({ corruptByteAt: 300 });
  });
  after(async () => {
    await liar?.close();
    await origin?.close();
  });

  test("wrong blob bytes from a mirror are caught, and the layer comes from the origin", async () => {
    const conf = await registriesConf(origin.registry.host, liar.host, "digest-only");
    const client = fleetClient({ registriesConf: conf });
    const { dir, store } = await freshStore();
    try {
      liar.resetStats();
      const r = await pull(`${origin.registry.host}/${REPO}:v1`, { client, store });
      // digest-only: the tag was resolved at the origin (the mirror's v1 -> v2 is never seen).
      assert.equal(r.manifestDigest, origin.images.v1.manifestDigest);
      for (const l of r.layers) {
        assert.equal(l.verified, "diff-id");
        assert.equal(l.servedBy, origin.registry.host);
        assert.ok((l.hosts?.[liar.host]?.bytesReceived ?? 0) > 0, "the mirror was asked first");
      }
      const askedForTag = liar.stats().requests.some((q) => q.path.includes("/manifests/v1"));
      assert.equal(askedForTag, false, "a digest-only mirror is never asked for a tag");
      assert.ok(liar.stats().totals.blobRequests > 0);
      // Nothing wrong reached the store: a second pull finds every layer there, verified.
      const again = await pull(`${origin.registry.host}/${REPO}:v1`, { client, store });
      for (const l of again.layers) assert.equal(l.mode, "cached");
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
      await rm(conf, { force: true });
    }
  });

  test("hosts.toml: tags only from hosts with `resolve`; wrong bytes skipped in full pulls too", async () => {
    const hosts = await hostsDir(origin.registry.host, liar.url, { capabilities: ["pull"] });
    const client = fleetClient({ hostsDir: hosts });
    const { dir, store } = await freshStore();
    try {
      const r = await pull(`${origin.registry.host}/${REPO}:v1`, { client, store });
      assert.equal(r.manifestDigest, origin.images.v1.manifestDigest);
      for (const l of r.layers) assert.equal(l.servedBy, origin.registry.host);
      // Whole-blob downloads (warm) from the liar fail their digest; each is read elsewhere.
      const w = await warm(`${origin.registry.host}/${REPO}:v1`, { client });
      assert.ok(w.blobs.every((b) => b.host === origin.registry.host));
      assert.ok((w.hosts[liar.host]?.bytesReceived ?? 0) > 0, "the liar sent bytes first");
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
      await rm(hosts, { recursive: true, force: true });
    }
  });

  test("range capabilities are per mirror: a mirror ignoring Range does not downgrade the origin", async () => {
    const plain = await startMockRegistry({ modes: { ignoreRange: true } });
    await pushImage(plain, REPO, "v1", origin.images.v1);
    const conf = await registriesConf(origin.registry.host, plain.host);
    const capabilities = new CapabilityStore();
    const client = fleetClient({ registriesConf: conf, capabilities });
    const { dir, store } = await freshStore();
    try {
      const r = await pull(`${origin.registry.host}/${REPO}:v1`, { client, store });
      for (const l of r.layers) assert.equal(l.servedBy, plain.host);
      assert.equal(capabilities.get(plain.url).mode, "none");
      assert.equal(capabilities.get(origin.registry.url).mode, "multi");
    } finally {
      await client.close();
      await plain.close();
      await rm(dir, { recursive: true, force: true });
      await rm(conf, { force: true });
    }
  });

  test("a basic-auth TLS mirror: its own credentials and CA, never the origin's", async () => {
    const tls = await selfSignedCert();
    const user = { username: "node", password: "mirror-pw" };
    const cache = await startCache(origin.counting.url, {
      htpasswd: { user: user.username, password: user.password },
      tls: { certificate: tls.cert, key: tls.key },
    });
    // The CA for the mirror, as hosts.toml `ca` and as a certs.d directory.
    const hosts = await hostsDir(origin.registry.host, cache.url, {
      extra: `ca = ${JSON.stringify(tls.cert)}`,
    });
    const certsDir = join(tls.dir, "certs.d");
    await mkdir(join(certsDir, cache.host), { recursive: true });
    await copyFile(tls.cert, join(certsDir, cache.host, "ca.crt"));
    const conf = await registriesConf(origin.registry.host, cache.host);
    const ref = `${origin.registry.host}/${REPO}:v1`;
    const cases = [
      {
        name: "hosts.toml ca + mirror credentials",
        options: { hostsDir: hosts, credentials: { [cache.host]: user } },
        servedBy: cache.host,
      },
      {
        name: "registries.conf + certs.d + mirror credentials",
        options: {
          registriesConf: conf,
          certsDirs: [certsDir],
          plainHttp: (h: string) => h !== cache.host,
          credentials: { [cache.host]: user },
        },
        servedBy: cache.host,
      },
      {
        // The origin's credentials (the same secret) must not be offered to the mirror.
        name: "credentials only for the origin",
        options: { hostsDir: hosts, credentials: { [origin.registry.host]: user } },
        servedBy: origin.registry.host,
      },
      {
        name: "no CA for the mirror",
        options: {
          registriesConf: conf,
          plainHttp: (h: string) => h !== cache.host,
          credentials: { [cache.host]: user },
        },
        servedBy: origin.registry.host,
      },
    ];
    try {
      for (const c of cases) {
        const client = fleetClient(c.options);
        const { dir, store } = await freshStore();
        try {
          const r = await pull(ref, { client, store });
          assert.equal(r.manifestDigest, origin.images.v1.manifestDigest, c.name);
          for (const l of r.layers) {
            assert.equal(l.verified, "diff-id", c.name);
            assert.equal(l.servedBy, c.servedBy, c.name);
          }
        } finally {
          await client.close();
          await rm(dir, { recursive: true, force: true });
        }
      }
    } finally {
      await cache.close();
      await rm(tls.dir, { recursive: true, force: true });
      await rm(hosts, { recursive: true, force: true });
      await rm(conf, { force: true });
    }
  });
});
