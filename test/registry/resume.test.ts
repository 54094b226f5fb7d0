/**
 * Resumable ranges: a range cut off midway is resumed from its first missing byte, delivered
 * ranges are never asked again, a pull through a connection reset every 300 kB completes
 * verified and partially with the default range sizes, and a layer whose range requests keep
 * failing falls back to a full download (the RangesFailedError signal) that resumes itself.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { pull } from "../../src/pull/pull.js";
import { CapabilityStore } from "../../src/registry/capabilities.js";
import { createRegistryClient } from "../../src/registry/client.js";
import { RangeResponseError, RangesFailedError } from "../../src/registry/errors.js";
import type { Layer } from "../../src/registry/http.js";
import { freshStore, pushTo, type SampleImages, sampleImages } from "../pull/helpers.js";
import { mockRepo, type SeededImage, seedImage, sha256, testClient } from "./helpers.js";

describe("resumable ranges (registry client)", () => {
  let reg: MockRegistry;
  let img: SeededImage;
  before(async () => {
    reg = await startMockRegistry();
    img = await seedImage(reg, "r/app", 1_000_000);
  });
  after(() => reg.close());

  it("resumes a long single range from its first missing byte", async () => {
    reg.setModes({ resetAfterBytes: 150_000 }, "r/app");
    reg.resetStats();
    const c = testClient();
    const blob = { ...mockRepo(reg, "r/app"), digest: img.layerDigest, size: img.layer.length };
    const [got] = await c.fetchRanges(blob, [{ offset: 100_000, length: 700_000 }]);
    assert.deepEqual(got, img.layer.subarray(100_000, 800_000));
    const ranges = reg
      .stats()
      .requests.filter((r) => r.kind === "blob")
      .map((r) => r.range);
    // Every reset costs one request that starts where the last one broke off.
    assert.equal(ranges[0], "bytes=100000-799999");
    assert.ok(ranges.length >= 5 && ranges.length <= 7, `${ranges.length}: ${ranges.join(" ")}`);
    const starts = ranges.map((r) => Number(/^bytes=(\d+)-799999$/.exec(r ?? "")?.[1]));
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! > starts[i - 1]!, ranges.join());
    await c.close();
  });

  it("keeps delivered ranges and resumes the cut one inside a multi-range answer", async () => {
    reg.setModes({ resetAfterBytes: 120_000 }, "r/app");
    reg.resetStats();
    const c = testClient();
    const blob = { ...mockRepo(reg, "r/app"), digest: img.layerDigest, size: img.layer.length };
    const want = [
      { offset: 0, length: 50_000 },
      { offset: 60_000, length: 200_000 },
      { offset: 300_000, length: 10_000 },
    ];
    const got = await c.fetchRanges(blob, want);
    for (const [i, r] of want.entries())
      assert.deepEqual(got[i], img.layer.subarray(r.offset, r.offset + r.length));
    const ranges = reg
      .stats()
      .requests.filter((r) => r.kind === "blob")
      .map((r) => r.range ?? "");
    assert.equal(ranges[0], "bytes=0-49999,60000-259999,300000-309999");
    // The first range is never asked again; the second resumes past its start.
    assert.ok(
      ranges.slice(1).every((r) => !r.includes("0-49999")),
      ranges.join(" "),
    );
    assert.ok(
      ranges.slice(1).some((r) => /bytes=(\d+)-259999/.test(r) && !r.startsWith("bytes=60000-")),
      ranges.join(" "),
    );
    await c.close();
  });
});

/** A server for one blob whose answers follow `script[n]` for the n-th blob request. */
async function scriptedServer(
  script: Array<(range: string | undefined, res: ServerResponse) => void>,
): Promise<{ host: string; ranges: Array<string | undefined>; close(): void }> {
  const ranges: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    if (req.url === "/v2/") return void res.end("{}");
    ranges.push(req.headers.range);
    const step = script[Math.min(ranges.length - 1, script.length - 1)]!;
    step(req.headers.range, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    ranges,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

describe("resume layer against odd resume answers", () => {
  const blob = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  const digest = sha256(blob);
  /** 206 for bytes=100-899, cut after 300 bytes. */
  const cut206 = (_range: string | undefined, res: ServerResponse) => {
    res.writeHead(206, {
      "content-range": "bytes 100-899/1000",
      "content-length": "800",
    });
    res.write(blob.subarray(100, 400), () => setTimeout(() => res.socket?.destroy(), 20));
  };

  it("a 200 to a resume is skipped to the resume point and cut at the window's end", async () => {
    const s = await scriptedServer([
      cut206,
      (_r, res) => {
        res.writeHead(200, { "content-length": "1000" });
        res.end(blob);
      },
    ]);
    try {
      const c = testClient();
      const [got] = await c.fetchRanges(
        { registry: s.host, repository: "a/b", digest, size: blob.length },
        [{ offset: 100, length: 800 }],
      );
      assert.deepEqual(got, blob.subarray(100, 900));
      assert.deepEqual(s.ranges, ["bytes=100-899", "bytes=400-899"]);
      await c.close();
    } finally {
      s.close();
    }
  });

  it("a 206 that starts elsewhere than asked is refused, never spliced in", async () => {
    const s = await scriptedServer([
      cut206,
      (_r, res) => {
        res.writeHead(206, { "content-range": "bytes 300-899/1000", "content-length": "600" });
        res.end(blob.subarray(300, 900));
      },
    ]);
    try {
      const c = testClient();
      await assert.rejects(
        c.fetchRanges({ registry: s.host, repository: "a/b", digest, size: blob.length }, [
          { offset: 100, length: 800 },
        ]),
        (e: unknown) => e instanceof RangeResponseError && /resume at byte 400/.test(e.message),
      );
      await c.close();
    } finally {
      s.close();
    }
  });
});

describe("pulls through a connection that resets every 300 kB", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    for (const repo of ["reset/partial", "reset/fallback"]) {
      await pushTo(reg, repo, "v1", images.v1);
      await pushTo(reg, repo, "v2", images.v2);
    }
  });
  after(() => reg.close());

  it("completes verified and partially with the default range sizes", async () => {
    reg.setModes({ resetAfterBytes: 300_000 }, "reset/partial");
    const { dir, store } = await freshStore();
    const client = createRegistryClient({
      capabilities: new CapabilityStore(),
      retries: { baseDelayMs: 5, maxDelayMs: 50 },
      noAuthFiles: true,
    });
    try {
      for (const tag of ["v1", "v2"]) {
        const r = await pull(`${reg.host}/reset/partial:${tag}`, { store, client });
        for (const l of r.layers) {
          assert.notEqual(l.mode, "full", `${tag} ${l.digest}: ${l.fallbackReason}`);
          assert.equal(l.verified, "diff-id");
        }
        assert.equal(r.layers[1]!.mode, "partial");
      }
      const recs = reg.stats().requests.filter((r) => r.repo === "reset/partial");
      assert.ok(
        recs.some((r) => r.aborted),
        "the mock did reset connections",
      );
      // The largest range of the plan is longer than 300 kB: only resuming can deliver it.
      const longest = Math.max(
        ...recs.flatMap((r) =>
          (r.range ?? "")
            .replace("bytes=", "")
            .split(",")
            .filter((x) => /^\d+-\d+$/.test(x))
            .map((x) => {
              const [a, b] = x.split("-").map(Number);
              return b! - a! + 1;
            }),
        ),
      );
      assert.ok(longest > 300_000, `longest range ${longest}`);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("falls back to a resumed full download when range requests keep failing", async () => {
    // A fault injector (a caller's per-attempt layer): every closed-range request dies before
    // its answer; open-ended resumes (`bytes=N-`) and plain GETs go through. The mock still
    // resets every answer after 300 kB, so the full download must resume too.
    const breakRanges: Layer = (next) => async (req) => {
      const range = req.headers.range;
      if (range && /\d-\d/.test(range) && req.url.pathname.includes(app)) {
        throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
      }
      return next(req);
    };
    const app = images.v1.layers[1]!.descriptor.digest;
    reg.setModes({ resetAfterBytes: 300_000 }, "reset/fallback");
    const { dir, store } = await freshStore();
    const client = createRegistryClient({
      capabilities: new CapabilityStore(),
      retries: { retries: 2, baseDelayMs: 5, maxDelayMs: 20 },
      noAuthFiles: true,
      layers: { perAttempt: [breakRanges] },
    });
    try {
      const r = await pull(`${reg.host}/reset/fallback:v1`, { store, client });
      const layer = r.layers[1]!;
      assert.equal(layer.mode, "full");
      assert.equal(layer.verified, "diff-id");
      assert.match(layer.fallbackReason ?? "", /range requests kept failing/);
      const gets = reg
        .stats()
        .requests.filter((x) => x.repo === "reset/fallback" && x.digest === app);
      assert.ok(
        gets.some((x) => /^bytes=\d+-$/.test(x.range ?? "")),
        "the full download resumed with Range: bytes=N-",
      );
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("RangesFailedError is the typed fallback signal (a RangeResponseError)", () => {
    const e = new RangesFailedError("x");
    assert.equal(e.code, "ERANGERESPONSE");
    assert.equal(e.name, "RangesFailedError");
  });
});
