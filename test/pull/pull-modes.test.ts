/**
 * Every misbehaviour the mock registry can show (spec registry.md §1.8-1.10): the pull still
 * succeeds and every layer is still proven against its diff_id, with more requests where the
 * server forces them. A corrupted byte must fail the pull with a digest error and leave no layer
 * record. Each mode runs in its own repository (per-repo modes) so the cases run concurrently.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { assembleImage } from "../../mock-registry/src/image/build.js";
import {
  type BehaviourModes,
  type MockRegistry,
  startMockRegistry,
} from "../../mock-registry/src/index.js";
import { DigestMismatchError } from "../../src/errors.js";
import { openChunkedLayer } from "../../src/formats/open.js";
import { pull } from "../../src/pull/pull.js";
import type { PullOptions, PullResult } from "../../src/pull/types.js";
import type { RegistryClient } from "../../src/registry/client.js";
import { RegistryError } from "../../src/registry/errors.js";
import {
  bufferSource,
  freshStore,
  pushTo,
  type SampleImages,
  sampleImages,
  served,
  testClient,
} from "./helpers.js";

interface ModeCase {
  name: string;
  modes: Partial<BehaviourModes>;
  /** The server forces more requests than the plain multipart registry needs. */
  moreRequests?: boolean;
  /** The server's answers let the client do with fewer (a whole blob at the first request). */
  fewerRequests?: boolean;
  pullOptions?: Partial<PullOptions>;
  check?: (results: PullResult[]) => void;
  /** Runs after both pulls, with the same client (e.g. a pull once redirect URLs expired). */
  afterPull?: (client: RegistryClient, reg: MockRegistry) => Promise<void>;
}

const CASES: ModeCase[] = [
  { name: "full200", modes: { multiRange: "full200" }, moreRequests: true },
  { name: "status400", modes: { multiRange: "status400" }, moreRequests: true },
  { name: "status416", modes: { multiRange: "status416" }, moreRequests: true },
  { name: "status501", modes: { multiRange: "status501" }, moreRequests: true },
  { name: "firstOnly", modes: { multiRange: "firstOnly" }, moreRequests: true },
  { name: "reorder", modes: { multiRange: "reorder" } },
  { name: "colonBoundary", modes: { colonBoundary: true } },
  {
    name: "ignoreRange",
    modes: { ignoreRange: true },
    fewerRequests: true,
    check: (results) => {
      // Discovery reveals it (a 200 to the metadata range): that answer is the full pull.
      const pulled = results.flatMap((r) => r.layers).filter((l) => l.mode !== "cached");
      assert.ok(pulled.length === 3);
      for (const l of pulled) {
        assert.equal(l.mode, "full");
        assert.match(l.fallbackReason ?? "", /ignores Range/);
      }
    },
    afterPull: async (_client, reg) => {
      // Each blob crosses the wire once, in one request: the whole-blob answer is the pull.
      for (const layer of [...REG_HOST.images!.v1.layers, REG_HOST.images!.v2.layers[1]!]) {
        const s = served(reg, layer.descriptor.digest, "modes/ignorerange");
        assert.equal(s.requests, 1, `${layer.descriptor.digest}: ${JSON.stringify(s)}`);
        assert.ok(
          s.bytesSent <= 1.1 * layer.blob.length,
          `${s.bytesSent} for ${layer.blob.length} bytes`,
        );
      }
    },
  },
  { name: "closedRangesOnly", modes: { closedRangesOnly: true }, moreRequests: true },
  { name: "acceptRanges-false", modes: { acceptRanges: false } },
  {
    // Every blob GET is cut after 300 kB (more than the largest chunk, 293 kB): the engine's
    // 64 KiB range pieces let each attempt deliver some ranges, and the client re-asks the rest.
    name: "resetAfterBytes",
    modes: { resetAfterBytes: 300_000 },
    pullOptions: { maxRangeBytes: 64 << 10 },
    moreRequests: true,
  },
  {
    name: "429-seconds",
    modes: { tooManyRequests: { count: 3, retryAfterSeconds: 1, form: "seconds" } },
    moreRequests: true,
  },
  {
    name: "429-http-date",
    modes: { tooManyRequests: { count: 3, retryAfterSeconds: 1, form: "http-date" } },
    moreRequests: true,
  },
  { name: "serverErrors", modes: { serverErrors: { count: 4, status: 503 } }, moreRequests: true },
  {
    name: "redirect-short-ttl",
    // The mock signs whole seconds: a 6 s TTL lives 5-6 s (the mock shares this busy process
    // with the other cases: a URL must outlive one redirect hop, even a slow one).
    modes: { redirectBlobs: true, redirectTtlSeconds: 6 },
    // The client remembers the signed storage URLs; once they expire (403) it must ask the
    // registry for fresh ones. Pull v1 again, into an empty store, after the TTL.
    afterPull: async (client) => {
      await sleep(6100);
      const { dir, store } = await freshStore();
      try {
        const r = await pull(`${REG_HOST.host}/modes/redirect-short-ttl:v1`, { store, client });
        assert.ok(r.layers.every((l) => l.mode === "partial" && l.verified === "diff-id"));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
  { name: "latency", modes: { latencyMs: 30 } },
];

/** Set once the registry runs (the cases are declared before it starts). */
const REG_HOST: { host: string; images?: SampleImages } = { host: "" };

/** Per mode: requests the server answered for each layer, v1 then v2 (for docs/pull.md). */
const table: string[] = [];

describe("pull through every mock behaviour mode", { concurrency: true }, () => {
  let reg: MockRegistry;
  let images: SampleImages;
  let baseline = 0;
  before(async () => {
    reg = await startMockRegistry();
    REG_HOST.host = reg.host;
    images = await sampleImages("zstd:chunked");
    REG_HOST.images = images;
    for (const c of [{ name: "plain" }, ...CASES]) {
      await pushTo(reg, `modes/${c.name.toLowerCase()}`, "v1", images.v1);
      await pushTo(reg, `modes/${c.name.toLowerCase()}`, "v2", images.v2);
    }
    baseline = (await requestsPerLayer("plain", { modes: {} })).total;
  });
  after(async () => {
    console.log(`# requests per layer [v1 base, v1 app, v2 base, v2 app]\n# ${table.join("\n# ")}`);
    await reg.close();
  });

  /** Pull v1 then v2 into a fresh store; returns the server's request count per layer. */
  async function requestsPerLayer(
    name: string,
    c: Omit<ModeCase, "name">,
  ): Promise<{ perLayer: number[]; total: number }> {
    const repo = `modes/${name.toLowerCase()}`;
    reg.setModes(c.modes, repo);
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      const counts: number[] = [];
      const results: PullResult[] = [];
      for (const tag of ["v1", "v2"]) {
        const r = await pull(`${reg.host}/${repo}:${tag}`, { ...c.pullOptions, store, client });
        results.push(r);
        for (const l of r.layers) {
          assert.ok(l.mode === "partial" || l.mode === "full" || l.mode === "cached");
          assert.equal(l.verified, "diff-id", `${name} ${tag} ${l.digest}`);
          assert.ok((await store.getLayer(l.diffId)) !== undefined);
        }
      }
      // v2's base layer is the same blob as v1's: cached, nothing fetched.
      assert.equal(results[1]!.layers[0]!.mode, "cached");
      // Count the server's records per layer digest, v1's pull then v2's.
      const recs = reg.stats().requests.filter((r) => r.repo === repo && r.kind === "blob");
      const v1App = images.v1.layers[1]!.descriptor.digest;
      const v2App = images.v2.layers[1]!.descriptor.digest;
      const base = images.base.descriptor.digest;
      const count = (d: string) => recs.filter((r) => r.digest === d && !r.redirected).length;
      counts.push(count(base), count(v1App), 0, count(v2App));
      const modes = results.flatMap((r) => r.layers.map((l) => l.mode)).join(",");
      // Every answer naming the repo (manifests too: a 429 may land on any of them).
      const total = reg.stats().requests.filter((r) => r.repo === repo && !r.redirected).length;
      table.push(`${name}: ${counts.join(", ")}; all requests ${total} (${modes})`);
      c.check?.(results);
      if (c.afterPull) await c.afterPull(client, reg);
      return { perLayer: counts, total };
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  for (const c of CASES) {
    test(`${c.name}: the pull succeeds and is verified`, async () => {
      const { total } = await requestsPerLayer(c.name, c);
      if (c.moreRequests) assert.ok(total > baseline, `${c.name}: ${total} vs plain ${baseline}`);
      else if (c.fewerRequests)
        assert.ok(total < baseline, `${c.name}: ${total} vs plain ${baseline}`);
      else assert.ok(total >= baseline, `${c.name}: ${total} vs plain ${baseline}`);
    });
  }

  test("corruptByteAt: the pull fails with a digest error and records no layer", async () => {
    const app = images.v1.layers[1]!;
    const image = assembleImage([app]);
    const repo = "modes/corrupt";
    await pushTo(reg, repo, "v1", image);
    // A byte inside the incompressible asset file: zstd stores it raw, so the frame still
    // decodes and only the digest can notice.
    const layer = await openChunkedLayer(bufferSource(app.blob), app.descriptor.annotations);
    const asset = layer.files.find((f) => f.name.endsWith("assets.bin"))!;
    const chunk = asset.chunks[0]!;
    reg.setModes({ corruptByteAt: Math.floor((chunk.offset + chunk.end) / 2) }, repo);
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      await assert.rejects(pull(`${reg.host}/${repo}:v1`, { store, client }), DigestMismatchError);
      assert.equal(await store.getLayer(app.diffId), undefined);
      assert.deepEqual(await store.listLayers(), []);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("Range ignored after the plan of an update: the few ranges come from one body", async () => {
    const repo = "midpull/ignore-warm";
    await pushTo(reg, repo, "v1", images.v1);
    await pushTo(reg, repo, "v2", images.v2);
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      await pull(`${reg.host}/${repo}:v1`, { store, client });
      const before = reg.stats().requests.length;
      const r = await pull(`${reg.host}/${repo}:v2`, {
        store,
        client,
        onProgress: (e) => {
          if (e.kind === "plan") reg.setModes({ ignoreRange: true }, repo);
        },
      });
      const app = r.layers[1]!;
      assert.equal(app.mode, "partial");
      assert.equal(app.verified, "diff-id");
      assert.ok(app.filesFromStore > 0);
      // Every whole-blob answer after the plan is either dropped unread or read once up to the
      // last wanted range: the client receives the blob's bytes at most once. (The server may
      // count more: a dropped answer's bytes already in flight, all of them for a blob this small.)
      assert.ok(app.bytesFetched <= 1.1 * app.size, `${app.bytesFetched} of ${app.size}`);
      const recs = reg
        .stats()
        .requests.slice(before)
        .filter(
          (x) => x.repo === repo && x.kind === "blob" && x.digest === app.digest && !x.redirected,
        );
      assert.ok(recs.some((x) => x.status === 200));
    } finally {
      reg.clearModes(repo);
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the registry changes its mind mid-pull (after the plan)", async () => {
    const app = images.v1.layers[1]!;
    for (const [name, modes, outcome] of [
      ["midpull/ignore", { ignoreRange: true }, "full"],
      ["midpull/refuse", { multiRange: "status416" }, "ok"],
      ["midpull/down", { serverErrors: { count: 1000, status: 503 } }, "fail"],
    ] as const) {
      await pushTo(reg, name, "v1", assembleImage([app]));
      const { dir, store } = await freshStore();
      const client = testClient();
      try {
        const pulled = pull(`${reg.host}/${name}:v1`, {
          store,
          client,
          onProgress: (e) => {
            if (e.kind === "plan") reg.setModes(modes, name);
          },
        });
        if (outcome === "ok") {
          const r = await pulled;
          assert.equal(r.layers[0]!.mode, "partial", name);
          assert.equal(r.layers[0]!.verified, "diff-id");
        } else if (outcome === "full") {
          // A cold store needs every chunk: the first whole-blob answer becomes the full pull,
          // so the blob crosses the wire about once (plus the metadata read before the plan).
          const r = await pulled;
          assert.equal(r.layers[0]!.mode, "full", name);
          assert.match(r.layers[0]!.fallbackReason ?? "", /answered 200 with the whole blob/);
          const s = served(reg, app.descriptor.digest, name);
          assert.ok(s.bytesSent <= 1.1 * app.blob.length, `${s.bytesSent} of ${app.blob.length}`);
        } else {
          const err = await pulled.then(
            () => assert.fail(`${name} succeeded`),
            (e: unknown) => e as Error,
          );
          // A registry error that names the layer and what the server said.
          assert.ok(err instanceof RegistryError, String(err));
          assert.ok(err.message.includes(app.descriptor.digest), err.message);
          assert.match(err.message, /503/);
          assert.equal(await store.getLayer(app.diffId), undefined);
        }
      } finally {
        reg.clearModes(name);
        await client.close();
        await rm(dir, { recursive: true, force: true });
      }
    }
  });
});
