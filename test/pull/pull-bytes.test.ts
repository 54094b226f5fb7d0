/**
 * The partial pull's cost, measured by the server: v1 into an empty store, then v2. For v2's
 * changed layer the bytes the mock sent must stay within 5% of the ideal (compressed TOC +
 * tar-split + the union of the chunks the store lacks, computed here from the blob), in at most
 * three requests, and the layer must be proven against its diff_id.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { assembleImage, type BuiltLayer, buildLayer } from "../../mock-registry/src/image/build.js";
import { makeTar, type TarFile, textContent } from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { batchRanges } from "../../src/pull/batches.js";
import { DEFAULT_BATCH_RANGES } from "../../src/pull/config.js";
import { pull } from "../../src/pull/pull.js";
import type { ProgressEvent } from "../../src/pull/types.js";
import {
  freshStore,
  idealBytes,
  pushTo,
  type SampleImages,
  sampleImages,
  served,
  testClient,
} from "./helpers.js";

describe("partial pull cost against the mock registry", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushTo(reg, "bytes/app", "v1", images.v1);
    await pushTo(reg, "bytes/app", "v2", images.v2);
  });
  after(() => reg.close());

  test("v1 then v2: v2's changed layer costs <= 1.05 x ideal in <= 3 requests", async () => {
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      reg.resetStats();
      const r1 = await pull(`${reg.host}/bytes/app:v1`, { store, client });
      for (const [i, l] of r1.layers.entries()) {
        assert.equal(l.mode, "partial", `v1 layer ${i}`);
        assert.equal(l.verified, "diff-id");
        const s = served(reg, l.digest);
        // Into an empty store: metadata in one request, every chunk in one more.
        assert.ok(s.requests <= 3, `v1 layer ${i}: ${s.requests} requests`);
        assert.equal(l.requests, s.requests, "client and server count the same requests");
        assert.ok(s.bytesSent <= l.size * 1.05, `v1 layer ${i}: ${s.bytesSent} of ${l.size}`);
      }

      const appLayer = images.v2.layers[1]!;
      const ideal = await idealBytes(appLayer, store);
      assert.ok(ideal.missingChunks > 0, "v2 changes something");
      reg.resetStats();
      const events: ProgressEvent[] = [];
      const r2 = await pull(`${reg.host}/bytes/app:v2`, {
        store,
        client,
        onProgress: (e) => events.push(e),
      });
      assert.equal(r2.layers[0]!.mode, "cached");
      assert.equal(served(reg, r2.layers[0]!.digest).requests, 0, "cached layer: no requests");
      const app = r2.layers[1]!;
      assert.equal(app.digest, appLayer.descriptor.digest);
      assert.equal(app.mode, "partial");
      assert.equal(app.verified, "diff-id");
      assert.ok(app.filesFromStore > 0);
      const s = served(reg, app.digest);
      assert.ok(s.requests <= 3, `v2 app layer: ${s.requests} requests (${s.ranges.join(" | ")})`);
      // Metadata: ONE request, ONE range covering TOC and tar-split (they lie side by side).
      assert.match(s.ranges[0]!, /^bytes=\d+-\d+$/, "TOC + tar-split in one range");
      assert.ok(
        s.bytesSent <= ideal.total * 1.05,
        `served ${s.bytesSent}, ideal ${ideal.total} (metadata ${ideal.metadata}, chunks ${ideal.chunks})`,
      );
      assert.ok(s.bytesSent >= ideal.total, "cannot beat the ideal");
      assert.equal(app.requests, s.requests);
      // The client's count is decoded body bytes; the server's includes multipart headers.
      assert.ok(app.bytesFetched <= s.bytesSent && app.bytesFetched >= ideal.total);
      assert.ok(app.bytesFetched < app.size / 2, `fetched ${app.bytesFetched} of ${app.size}`);
      assert.equal(
        r2.bytesFetched,
        r2.layers.reduce((n, l) => n + l.bytesFetched, 0),
      );
      const layerEvents = events.filter((e) => e.layer === app.digest).map((e) => e.kind);
      for (const kind of ["layer-start", "plan", "fetch", "verify", "layer-done"] as const) {
        assert.ok(layerEvents.includes(kind), `progress has ${kind}: ${layerEvents.join(",")}`);
      }
      // A report line for docs/pull.md.
      console.log(
        `# v2 app layer: size ${app.size}, served ${s.bytesSent} in ${s.requests} requests, ideal ${ideal.total} (TOC+tar-split ${ideal.metadata}, chunks ${ideal.chunks} in ${ideal.missingChunks} chunks), ratio ${(s.bytesSent / ideal.total).toFixed(4)}, files ${app.filesTotal} (${app.filesFromStore} from store), chunks from store ${app.chunksFromStore}, ranges ${app.ranges}; ranges: ${s.ranges.map((r) => r.length).join(",")} chars`,
      );
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Go's multipart part header: CRLF, "--" + 60-char boundary, Content-Type, Content-Range. */
const PART_HEADER_BYTES = 160;

describe("bounded batches", () => {
  test("64 KiB batches of 16 KiB pieces: more requests, the same payload, verified", async () => {
    const reg = await startMockRegistry();
    const images = await sampleImages("zstd:chunked");
    await pushTo(reg, "bytes/batches", "v1", images.v1);
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      const r = await pull(`${reg.host}/bytes/batches:v1`, {
        store,
        client,
        batchBytes: 64 << 10,
        maxRangeBytes: 16 << 10,
        concurrency: 2,
      });
      const app = r.layers[1]!;
      assert.equal(app.mode, "partial");
      assert.equal(app.verified, "diff-id");
      const s = served(reg, app.digest);
      const payload = app.size - 200; // everything but leading headers and the footer, roughly
      // One request per batch: at least payload / 64 KiB of them, and a part header per piece.
      assert.ok(s.requests >= Math.floor(payload / (64 << 10)), `${s.requests} requests`);
      assert.ok(app.ranges > payload / (16 << 10) / 2, `${app.ranges} ranges`);
      assert.ok(s.bytesSent <= app.size + app.ranges * PART_HEADER_BYTES);
    } finally {
      await client.close();
      await reg.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("partial pull cost with scattered changes", () => {
  let reg: MockRegistry;
  const layers: BuiltLayer[] = [];
  /** 160 small text files; v2 rewrites every second one, so wanted chunks alternate with kept. */
  const files = (version: number): TarFile[] =>
    Array.from({ length: 160 }, (_, i) => ({
      name: `srv/f${i}.txt`,
      data: textContent(1500 + ((i * 37) % 900), 10_000 + i + (i % 2 === 1 ? version * 1000 : 0)),
    }));
  before(async () => {
    reg = await startMockRegistry();
    for (const v of [1, 2]) {
      const layer = await buildLayer(makeTar(files(v)), "zstd:chunked");
      layers.push(layer);
      await pushTo(reg, "bytes/scattered", `v${v}`, assembleImage([layer]));
    }
  });
  after(() => reg.close());

  test("alternating changed files: <= 1.05 x ideal + one part header per range", async () => {
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      await pull(`${reg.host}/bytes/scattered:v1`, { store, client });
      const ideal = await idealBytes(layers[1]!, store);
      assert.equal(ideal.missingChunks, 80);
      reg.resetStats();
      const r = await pull(`${reg.host}/bytes/scattered:v2`, { store, client });
      const l = r.layers[0]!;
      assert.equal(l.mode, "partial");
      assert.equal(l.verified, "diff-id");
      const s = served(reg, l.digest);
      console.log(
        `# scattered: served ${s.bytesSent} in ${s.requests} requests, ideal ${ideal.total} (chunks ${ideal.chunks} in ${ideal.missingChunks}), ratio ${(s.bytesSent / ideal.total).toFixed(4)}, ranges ${l.ranges}`,
      );
      // One request for the TOC and tar-split, then the ranges in ramped batches (batches.ts).
      const dummy = Array.from({ length: l.ranges }, (_, i) => ({
        offset: 2 * i,
        length: 1,
        chunks: [],
      }));
      const batches = batchRanges(dummy, 16 << 20, 4 << 20, DEFAULT_BATCH_RANGES).length;
      assert.ok(s.requests <= 1 + batches, `${s.requests} requests, ${batches} batches`);
      // 80 chunks of ~700 bytes: each separate range costs a ~150-byte part header, which no
      // policy avoids (merging a 700-byte gap costs more). Allow 5% plus one header per range.
      const allowance = ideal.total * 1.05 + l.ranges * PART_HEADER_BYTES;
      assert.ok(s.bytesSent <= allowance, `served ${s.bytesSent}, allowed ${allowance}`);
      // Fetching the gaps through (c/storage's 1 KiB rule) would cost about twice the ideal.
      assert.ok(s.bytesSent < ideal.total * 1.3);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
