/**
 * chunkpull behind a pull-through cache: the real `docker-registry` as origin, a second one in
 * proxy mode as the mirror, configured through a registries.conf and through a hosts.toml
 * fixture. What each host sent is measured by the client (per-host meters) and, for the origin,
 * by a counting proxy between the cache and the origin.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import type { PullResult } from "../../src/pull/pull.js";
import { pull } from "../../src/pull/pull.js";
import { warm } from "../../src/registry/warm.js";
import { toolSkip } from "../helpers/docker-registry.js";
import { freshStore } from "../pull/helpers.js";
import {
  fleetClient,
  hostsDir,
  type Origin,
  REPO,
  registriesConf,
  startCache,
  startOrigin,
} from "./helpers.js";

const skip = toolSkip(["docker-registry"]);

function assertVerified(r: PullResult, servedBy: string): void {
  for (const l of r.layers) {
    assert.equal(l.verified, "diff-id");
    assert.notEqual(l.mode, "cached");
    assert.equal(l.servedBy, servedBy, `layer ${l.digest} served by ${l.servedBy}`);
  }
}

describe("through a pull-through cache (docker-registry proxy mode)", { skip }, () => {
  let origin: Origin;
  before(async () => {
    origin = await startOrigin();
  });
  after(() => origin?.close());

  test("registries.conf mirror: the pull verifies and every byte comes from the cache", async () => {
    const cache = await startCache(origin.counting.url);
    const conf = await registriesConf(origin.registry.host, cache.host);
    const client = fleetClient({ registriesConf: conf });
    const { dir, store } = await freshStore();
    try {
      const r = await pull(`${origin.registry.host}/${REPO}:v1`, { client, store });
      assert.equal(r.manifestDigest, origin.images.v1.manifestDigest);
      assertVerified(r, cache.host);
      assert.equal(r.hosts?.[origin.registry.host], undefined, "the client never asked the origin");
      for (const l of r.layers) {
        const fromOrigin = origin.counting.blobs.get(l.digest);
        console.log(
          `# cold cache, layer ${l.size} B: client read ${l.bytesFetched} B (${(l.bytesFetched / l.size).toFixed(2)}x) in ${l.requests} requests; origin sent ${fromOrigin?.bytes} B in ${fromOrigin?.requests} requests`,
        );
      }
    } finally {
      await client.close();
      await cache.close();
      await rm(dir, { recursive: true, force: true });
      await rm(conf, { force: true });
    }
  });

  test("hosts.toml mirror: v1 then v2 through the cache, verified", async () => {
    const cache = await startCache(origin.counting.url);
    const hosts = await hostsDir(origin.registry.host, cache.url);
    const client = fleetClient({ hostsDir: hosts });
    const { dir, store } = await freshStore();
    try {
      const r1 = await pull(`${origin.registry.host}/${REPO}:v1`, { client, store });
      assertVerified(r1, cache.host);
      const r2 = await pull(`${origin.registry.host}/${REPO}:v2`, { client, store });
      assert.equal(r2.manifestDigest, origin.images.v2.manifestDigest);
      assert.equal(r2.layers[0]!.mode, "cached");
      const app = r2.layers[1]!;
      // The cache has not seen v2's app layer: while it fills it answers Range with the whole
      // blob, so the layer may arrive in full; either way it is verified and from the cache.
      assert.notEqual(app.mode, "cached");
      assert.equal(app.verified, "diff-id");
      assert.equal(app.servedBy, cache.host);
      assert.equal(r2.hosts?.[origin.registry.host], undefined);
    } finally {
      await client.close();
      await cache.close();
      await rm(dir, { recursive: true, force: true });
      await rm(hosts, { recursive: true, force: true });
    }
  });

  test("with the cache stopped, pulls fall back to the origin", async () => {
    const cache = await startCache(origin.counting.url);
    const conf = await registriesConf(origin.registry.host, cache.host);
    const hosts = await hostsDir(origin.registry.host, cache.url);
    await cache.close();
    try {
      for (const config of [{ registriesConf: conf }, { hostsDir: hosts }]) {
        const client = fleetClient(config);
        const { dir, store } = await freshStore();
        try {
          const r = await pull(`${origin.registry.host}/${REPO}:v1`, { client, store });
          assertVerified(r, origin.registry.host);
          // Resolving the tag found the cache unreachable: the layers did not even try it.
          assert.equal(r.hosts?.[cache.host], undefined);
        } finally {
          await client.close();
          await rm(dir, { recursive: true, force: true });
        }
      }
    } finally {
      await rm(conf, { force: true });
      await rm(hosts, { recursive: true, force: true });
    }
  });

  test("an update (v2 after v1) through a warm cache costs what it costs direct", async () => {
    const cache = await startCache(origin.counting.url);
    const conf = await registriesConf(origin.registry.host, cache.host);
    const warmer = fleetClient({ registriesConf: conf });
    const viaCache = fleetClient({ registriesConf: conf });
    const direct = fleetClient({});
    const a = await freshStore();
    const b = await freshStore();
    try {
      for (const tag of ["v1", "v2"])
        await warm(`${origin.registry.host}/${REPO}:${tag}`, { client: warmer });
      await origin.counting.idle();
      const update = async (client: typeof direct, store: typeof a.store) => {
        await pull(`${origin.registry.host}/${REPO}:v1`, { client, store });
        const r = await pull(`${origin.registry.host}/${REPO}:v2`, { client, store });
        assert.equal(r.layers[1]!.mode, "partial");
        return r;
      };
      const cached = await update(viaCache, a.store);
      const straight = await update(direct, b.store);
      assert.equal(cached.layers[1]!.servedBy, cache.host);
      assert.equal(straight.layers[1]!.servedBy, origin.registry.host);
      assert.ok(
        cached.bytesFetched <= straight.bytesFetched * 1.05,
        `through the cache ${cached.bytesFetched} B, direct ${straight.bytesFetched} B`,
      );
      console.log(
        `# v2 after v1: through the warm cache ${cached.bytesFetched} B in ${cached.requests} requests, direct ${straight.bytesFetched} B in ${straight.requests} requests`,
      );
    } finally {
      await Promise.all([warmer.close(), viaCache.close(), direct.close()]);
      await cache.close();
      await rm(a.dir, { recursive: true, force: true });
      await rm(b.dir, { recursive: true, force: true });
      await rm(conf, { force: true });
    }
  });

  /**
   * distribution's proxy fetches a missing blob from upstream twice: once to store it and once
   * to stream it to the client that asked (and once more per request that arrives while it
   * fills). So the origin pays at most 2x per blob for the cache, and nothing per node.
   */
  function originBytes(layers: Origin["images"]["v1"]["layers"]): number[] {
    return layers.map((l) => origin.counting.blobs.get(l.descriptor.digest)?.bytes ?? 0);
  }

  test("a fleet of 5 nodes after warm(): the origin pays for the cache's fill, never per node", async () => {
    const cache = await startCache(origin.counting.url);
    const conf = await registriesConf(origin.registry.host, cache.host);
    origin.counting.reset();
    const ref = `${origin.registry.host}/${REPO}:v1`;
    const layers = origin.images.v1.layers;
    const warmer = fleetClient({ registriesConf: conf });
    try {
      const w = await warm(ref, { client: warmer });
      assert.equal(w.manifestDigest, origin.images.v1.manifestDigest);
      for (const b of w.blobs) {
        assert.equal(b.host, cache.host);
        assert.equal(b.bytesFetched, b.size, "one full GET per blob");
      }
      // distribution stores the blob in the background: wait until its upstream reads are done.
      await origin.counting.idle();
      const afterWarm = originBytes(layers);
      layers.forEach((l, i) => {
        assert.ok(afterWarm[i]! >= l.descriptor.size, "the cache fetched the blob");
        assert.ok(afterWarm[i]! <= 2 * l.descriptor.size, `origin sent ${afterWarm[i]} B`);
      });
      const perNode: number[] = [];
      for (let node = 0; node < 5; node++) {
        const client = fleetClient({ registriesConf: conf });
        const { dir, store } = await freshStore();
        try {
          const r = await pull(ref, { client, store });
          assertVerified(r, cache.host);
          for (const l of r.layers)
            assert.ok(
              l.bytesFetched <= l.size * 1.1,
              `warm cache: ${l.bytesFetched} B for ${l.size}`,
            );
          perNode.push(r.bytesFetched);
        } finally {
          await client.close();
          await rm(dir, { recursive: true, force: true });
        }
      }
      assert.deepEqual(originBytes(layers), afterWarm, "the nodes cost the origin nothing");
      const layerBytes = layers.reduce((n, l) => n + l.descriptor.size, 0);
      console.log(
        `# fleet of 5 after warm: ${layerBytes} B of layers; warm read ${w.bytesFetched} B; nodes read ${perNode.join(", ")} B; origin sent ${afterWarm.join(" + ")} B of blobs (${origin.counting.totals.bytes} B in ${origin.counting.totals.requests} requests in all)`,
      );
    } finally {
      await warmer.close();
      await cache.close();
      await rm(conf, { force: true });
    }
  });

  test("a fleet of 5 nodes on a cold cache: each node reads at most 1.1x per layer, the origin pays for one fill", async () => {
    const cache = await startCache(origin.counting.url);
    const conf = await registriesConf(origin.registry.host, cache.host);
    origin.counting.reset();
    const ref = `${origin.registry.host}/${REPO}:v1`;
    const layers = origin.images.v1.layers;
    try {
      const ratios: string[] = [];
      let afterFirst: number[] = [];
      for (let node = 0; node < 5; node++) {
        const client = fleetClient({ registriesConf: conf });
        const { dir, store } = await freshStore();
        try {
          const r = await pull(ref, { client, store });
          assertVerified(r, cache.host);
          for (const l of r.layers) ratios.push((l.bytesFetched / l.size).toFixed(2));
          console.log(
            `# cold cache fleet: node ${node + 1} per-layer cost ${ratios.slice(-r.layers.length).join(" ")}`,
          );
          for (const l of r.layers)
            assert.ok(
              l.bytesFetched <= l.size * 1.1,
              `node ${node + 1}: layer of ${l.size} B cost ${l.bytesFetched} B through the cache`,
            );
        } finally {
          await client.close();
          await rm(dir, { recursive: true, force: true });
        }
        if (node === 0) afterFirst = originBytes(layers);
      }
      layers.forEach((l, i) => {
        assert.ok(afterFirst[i]! <= 2 * l.descriptor.size, `origin sent ${afterFirst[i]} B`);
      });
      assert.deepEqual(originBytes(layers), afterFirst, "nodes 2-5 cost the origin nothing");
    } finally {
      await cache.close();
      await rm(conf, { force: true });
    }
  });
});
