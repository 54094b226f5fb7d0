/**
 * `concurrency` (the CLI's --concurrency) sizes the request limit of the client a pull creates:
 * counted at a proxy in front of the mock registry, which answers slowly so that requests
 * overlap whenever the client lets them.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { pull } from "../../src/pull/pull.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { freshStore, pushTo, type SampleImages, sampleImages } from "./helpers.js";

describe("--concurrency changes the requests in flight", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushTo(reg, "conc/app", "v1", images.v1);
    reg.setModes({ latencyMs: 150 }, "conc/app");
  });
  after(() => reg.close());

  async function maxInFlight(concurrency: number): Promise<number> {
    const proxy: TestProxy = await startProxy(reg.host);
    const { dir, store } = await freshStore();
    try {
      // Small batches: each layer's chunks take many requests, several of them read ahead.
      const r = await pull(`${proxy.host}/conc/app:v1`, {
        store,
        concurrency,
        batchBytes: 32 << 10,
        maxRangeBytes: 32 << 10,
      });
      assert.ok(r.layers.every((l) => l.mode === "partial" && l.verified === "diff-id"));
      assert.ok(r.requests > 2 * concurrency, `${r.requests} requests`);
      return proxy.maxInFlight;
    } finally {
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  test("1 request at a time with --concurrency 1, more (never above N) with N", async () => {
    assert.equal(await maxInFlight(1), 1);
    const four = await maxInFlight(4);
    assert.ok(four > 1 && four <= 4, `${four} in flight`);
  });
});
