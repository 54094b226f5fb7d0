import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { BehaviourModes } from "../../mock-registry/src/index.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import type { RegistryClient } from "../../src/registry/client.js";
import { RangeNotSatisfiableError } from "../../src/registry/errors.js";
import { mockRepo, type SeededImage, seedImage, spreadRanges, testClient } from "./helpers.js";

describe("range requests against the mock registry", () => {
  let reg: MockRegistry;
  let img: SeededImage;
  const repo = "ranges/blob";
  before(async () => {
    reg = await startMockRegistry();
    img = await seedImage(reg, repo);
  });
  after(() => reg.close());
  beforeEach(() => {
    reg.clearModes();
    reg.resetStats();
  });

  const blobRef = () => ({
    ...mockRepo(reg, repo),
    digest: img.layerDigest,
    size: img.layer.length,
  });
  const ranges = () => spreadRanges(img.layer.length, 20, 1000);

  async function expectExact(c: RegistryClient, rs = ranges()): Promise<void> {
    const got = await c.fetchRanges(blobRef(), rs);
    assert.equal(got.length, rs.length);
    rs.forEach((r, i) => {
      assert.deepEqual(got[i], img.layer.subarray(r.offset, r.offset + r.length), `range ${i}`);
    });
  }

  const blobRequests = () =>
    reg.stats().requests.filter((r) => r.kind === "blob" && r.origin !== "token");
  const storageOrAll = () => reg.stats().requests.filter((r) => r.kind === "blob");

  it("costs one request for many ranges when multipart is supported (Go style, reordered, ':' boundary)", async () => {
    const modes: Array<Partial<BehaviourModes>> = [
      {},
      { multiRange: "reorder" },
      { colonBoundary: true },
      { acceptRanges: false },
    ];
    for (const m of modes) {
      reg.clearModes();
      reg.setModes(m);
      reg.resetStats();
      const c = testClient();
      c.resetStats();
      await expectExact(c);
      assert.equal(blobRequests().length, 1, JSON.stringify(m));
      assert.equal(c.stats().requests, 2, "ping + one range request");
      assert.ok(
        c.stats().bytesReceived < 20 * 1000 + 20 * 200,
        `received ${c.stats().bytesReceived}`,
      );
      await c.close();
    }
  });

  it("downgrades on 400, 416 and 501: halves the batch, then single ranges, and remembers it", async () => {
    for (const multiRange of ["status400", "status416", "status501"] as const) {
      reg.clearModes();
      reg.setModes({ multiRange });
      reg.resetStats();
      const c = testClient({ maxRangesPerRequest: 8 });
      await expectExact(c);
      const first = blobRequests().length;
      // 20 ranges in batches of 8: every multi request refused, halving to 4, 2, then 20 singles.
      assert.ok(first >= 20 && first <= 40, `${multiRange}: ${first} requests`);
      reg.resetStats();
      await expectExact(c);
      assert.equal(blobRequests().length, 20, `${multiRange}: learned single ranges`);
      await c.close();
    }
  });

  it("stops reading a 200 answer to a multi-range request at once and switches to single ranges", async () => {
    reg.setModes({ multiRange: "full200" });
    const c = testClient();
    await expectExact(c);
    const reqs = blobRequests();
    assert.equal(reqs.length, 1 + 20);
    assert.equal(reqs[0]!.status, 200);
    assert.ok(
      c.stats().bytesReceived < img.layer.length,
      `received ${c.stats().bytesReceived} of ${img.layer.length}`,
    );
    await c.close();
  });

  it("handles a first-range-only 206 by asking for the rest one at a time", async () => {
    reg.setModes({ multiRange: "firstOnly" });
    const c = testClient();
    await expectExact(c);
    assert.equal(blobRequests().length, 1 + 19);
    await c.close();
  });

  it("serves every range from one whole-body GET when Range is ignored", async () => {
    reg.setModes({ ignoreRange: true });
    const c = testClient();
    await expectExact(c);
    // multi -> 200 (cut at once), one single-range probe -> 200 (Range ignored): that whole
    // body serves every range still missing, not only the probe's
    assert.deepEqual(
      blobRequests().map((r) => [
        r.status,
        r.range === undefined ? "none" : r.range.includes(",") ? "multi" : "single",
      ]),
      [
        [200, "multi"],
        [200, "single"],
      ],
    );
    reg.resetStats();
    await expectExact(c, ranges().slice(0, 5));
    assert.equal(blobRequests().length, 1, "learned: one plain GET");
    assert.equal(blobRequests()[0]!.range, undefined);
    await c.close();
  });

  it("recovers from connection resets in the middle of range answers", async () => {
    reg.setModes({ resetAfterBytes: 5000 });
    const c = testClient({ maxRangesPerRequest: 4 });
    await expectExact(c, spreadRanges(img.layer.length, 20, 3000));
    assert.ok(
      blobRequests().some((r) => r.aborted),
      "the mock did reset connections",
    );
    await c.close();
  });

  it("retries 429 and 5xx on range requests", async () => {
    reg.setModes(
      {
        tooManyRequests: { count: 1, retryAfterSeconds: 0, form: "seconds" },
        serverErrors: { count: 2, status: 503 },
      },
      repo,
    );
    const c = testClient();
    await expectExact(c);
    await c.close();
  });

  it("follows redirects to signed storage URLs without Authorization, reuses them, and re-resolves expired ones", async () => {
    const authReg = await startMockRegistry({
      auth: { kind: "basic", users: { u: "p" } },
      // Long enough that the first checks finish before expiry on a loaded machine.
      modes: { redirectBlobs: true, redirectTtlSeconds: 3 },
    });
    try {
      const seeded = await seedImage(authReg, "r/x", 64 * 1024);
      const c = testClient({ credentials: { username: "u", password: "p" } });
      const ref = {
        ...mockRepo(authReg, "r/x"),
        digest: seeded.layerDigest,
        size: seeded.layer.length,
      };
      const rs = spreadRanges(seeded.layer.length, 5, 100);
      const check = async () => {
        const got = await c.fetchRanges(ref, rs);
        rs.forEach((r, i) => {
          assert.deepEqual(got[i], seeded.layer.subarray(r.offset, r.offset + r.length));
        });
      };
      await check();
      await check();
      let storage = authReg.stats().requests.filter((r) => r.origin === "storage");
      assert.ok(storage.length >= 2);
      assert.ok(
        storage.every((r) => !r.authorization),
        "Authorization must not reach the storage origin",
      );
      assert.ok(storage.every((r) => r.status === 206));
      const redirects = authReg.stats().requests.filter((r) => r.redirected).length;
      assert.equal(redirects, 1, "the storage URL is reused while valid");
      await new Promise((r) => setTimeout(r, 3200));
      authReg.resetStats();
      await check();
      storage = authReg.stats().requests.filter((r) => r.origin === "storage");
      assert.deepEqual(
        storage.map((r) => r.status),
        [403, 206],
      );
      assert.equal(authReg.stats().requests.filter((r) => r.redirected).length, 1);
      // a whole blob through the redirect is verified as well
      const whole = await c.openBlob(ref);
      const chunks: Buffer[] = [];
      for await (const ch of whole) chunks.push(ch as Buffer);
      assert.deepEqual(Buffer.concat(chunks), seeded.layer);
      await c.close();
    } finally {
      await authReg.close();
    }
  });

  it("delivers parts to a callback as they arrive, and empty ranges without a request", async () => {
    const c = testClient();
    const rs = [{ offset: 0, length: 0 }, ...ranges().slice(1)];
    const seen: number[] = [];
    await c.fetchRangesStreaming(blobRef(), rs, (i, data) => {
      seen.push(i);
      const r = rs[i]!;
      assert.deepEqual(data, img.layer.subarray(r.offset, r.offset + r.length));
    });
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      rs.map((_, i) => i),
    );
    await c.close();
  });

  it("rejects invalid ranges before sending anything, and exposes a RangeSource", async () => {
    const c = testClient();
    c.resetStats();
    await assert.rejects(
      c.fetchRanges(blobRef(), [{ offset: img.layer.length - 1, length: 2 }]),
      RangeNotSatisfiableError,
    );
    await assert.rejects(
      c.fetchRanges(blobRef(), [
        { offset: 10, length: 5 },
        { offset: 12, length: 1 },
      ]),
      RangeNotSatisfiableError,
    );
    assert.equal(c.stats().requests, 0);
    const src = c.rangeSource(blobRef(), img.layer.length);
    assert.equal(src.size, img.layer.length);
    const [a] = await src.read([{ offset: 5, length: 10 }]);
    assert.deepEqual(a, img.layer.subarray(5, 15));
    assert.equal(storageOrAll().length, 1);
    await c.close();
  });
});
