/**
 * Deadlines against the mock's stall modes, with short limits: headers that never come, a body
 * that stops after some bytes on every attempt (the retry budget must not reset forever on that
 * progress), a trickle below the minimum throughput, and the retry budget's own rules.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { TimeoutError } from "../../src/registry/errors.js";
import { RetryBudget } from "../../src/registry/retry.js";
import { resolveTimeouts, ThroughputWatch } from "../../src/registry/timeouts.js";
import { mockRepo, type SeededImage, seedImage, testClient } from "./helpers.js";

async function drain(stream: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const c of stream) n += c.length;
  return n;
}

describe("deadlines", () => {
  let reg: MockRegistry;
  const images = new Map<string, SeededImage>();
  before(async () => {
    reg = await startMockRegistry();
    for (const repo of ["d/headers", "d/body", "d/trickle", "d/ranges"])
      images.set(repo, await seedImage(reg, repo, 600_000));
  });
  after(() => reg.close());

  const blobOf = (repo: string) => {
    const img = images.get(repo)!;
    return { ...mockRepo(reg, repo), digest: img.layerDigest, size: img.layer.length };
  };

  it("fails a request whose headers never come with a TimeoutError naming the URL", async () => {
    reg.setModes({ stallHeaders: true }, "d/headers");
    const c = testClient({
      timeouts: { headersMs: 300 },
      retries: { retries: 10, baseDelayMs: 5, maxRetryTimeMs: 1000 },
    });
    const err = await c.getManifest(mockRepo(reg, "d/headers"), "v1").then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.code, "ETIMEOUT");
    assert.equal(err.kind, "headers");
    assert.match(err.message, /GET http:\/\/127\.0\.0\.1:\d+\/v2\/d\/headers\/manifests\/v1/);
    assert.match(err.message, /no response headers within 300 ms/);
    assert.match(err.message, /gave up after/);
    // The time budget (1 s lost), not the 10 retries, ended it: about 4 attempts of 300 ms.
    const attempts = reg.stats().requests.filter((r) => r.repo === "d/headers").length;
    assert.ok(attempts >= 2 && attempts <= 6, `${attempts} attempts`);
    await c.close();
  });

  it("bounds a body that stalls after some bytes on every attempt, progress or not", async () => {
    // Each attempt delivers 100 kB (more than the progress threshold), then goes silent.
    reg.setModes({ stallAfterBytes: 100_000 }, "d/body");
    const c = testClient({
      timeouts: { idleMs: 300 },
      retries: { retries: 4, baseDelayMs: 5, maxRetryTimeMs: 1200 },
    });
    const stream = await c.openBlob(blobOf("d/body"));
    const err = await drain(stream).then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.kind, "idle");
    assert.match(err.message, /stalled for 300 ms/);
    const gets = reg.stats().requests.filter((r) => r.repo === "d/body" && r.kind === "blob");
    // Without the time budget, each attempt's 100 kB would restart the count: 6 attempts
    // would then finish the 600 kB blob. The budget stops it first.
    assert.ok(gets.length >= 2 && gets.length <= 5, `${gets.length} blob requests`);
    assert.ok(gets.slice(1).every((r) => /^bytes=\d+-$/.test(r.range ?? "")));
    await c.close();
  });

  it("fails a trickling body below the minimum throughput at once, without retrying", async () => {
    reg.setModes({ bandwidthBytesPerSecond: 2048 }, "d/trickle");
    const c = testClient({ timeouts: { minBytesPerSecond: 10_240, throughputWindowMs: 600 } });
    const stream = await c.openBlob(blobOf("d/trickle"));
    const err = await drain(stream).then(
      () => assert.fail("resolved"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TimeoutError, String(err));
    assert.equal(err.kind, "throughput");
    assert.match(err.message, /bytes\/s, below the minimum of 10240 bytes\/s/);
    const gets = reg.stats().requests.filter((r) => r.repo === "d/trickle" && r.kind === "blob");
    assert.equal(gets.length, 1, "a trickle is not retried");
    await c.close();
  });

  it("ends a range job on a stalled server with the TimeoutError, not a fallback signal", async () => {
    reg.setModes({ stallAfterBytes: 1000 }, "d/ranges");
    const c = testClient({
      timeouts: { idleMs: 300 },
      retries: { retries: 3, baseDelayMs: 5, maxRetryTimeMs: 1000 },
    });
    await assert.rejects(
      c.fetchRanges(blobOf("d/ranges"), [{ offset: 0, length: 400_000 }]),
      (e: unknown) => e instanceof TimeoutError && e.kind === "idle",
    );
    await c.close();
  });
});

describe("retry budget and throughput rule (units)", () => {
  it("counts consecutive failures, resets them on real progress, never resets lost time", () => {
    let now = 0;
    const b = new RetryBudget(
      { retries: 2, maxRetryTimeMs: 10_000, baseDelayMs: 1, random: () => 0 },
      () => now,
    );
    b.start();
    now += 100;
    assert.notEqual(b.failure(), undefined); // 1 consecutive
    b.progress(10); // a trickle: not enough to count as progress
    assert.notEqual(b.failure(), undefined); // 2 consecutive
    b.progress(); // a finished piece
    assert.notEqual(b.failure(), undefined); // 1 again
    b.start();
    now += 9_900; // 100 + 9 900 ms lost in all
    assert.equal(b.failure(), undefined, "the time budget is spent");
    assert.match(b.describe(), /4 failed attempt\(s\), 10 s lost/);
  });

  it("stops after maxAttempts even with progress before every failure", () => {
    const b = new RetryBudget({ maxAttempts: 3, baseDelayMs: 1 }, () => 0);
    b.progress();
    assert.notEqual(b.failure(), undefined);
    b.progress();
    assert.notEqual(b.failure(), undefined);
    b.progress();
    assert.equal(b.failure(), undefined);
  });

  it("judges throughput per window of network waiting time", () => {
    const t = resolveTimeouts({ minBytesPerSecond: 1000, throughputWindowMs: 1000 });
    const w = new ThroughputWatch(t, "GET", "http://x/y");
    w.add(500, 400);
    w.add(2000, 700); // window full: 2500 bytes in 1.1 s is fine, a new window starts
    w.add(100, 900);
    assert.throws(() => w.add(100, 200), /GET http:\/\/x\/y: body arrives at 182 bytes\/s/);
    const off = new ThroughputWatch(resolveTimeouts({ minBytesPerSecond: 0 }), "GET", "u");
    off.add(0, 1e9);
  });

  it("fills defaults, lets the single timeoutMs set the stall limits, rejects nonsense", () => {
    assert.deepEqual(resolveTimeouts(), {
      connectMs: 10_000,
      headersMs: 20_000,
      idleMs: 20_000,
      minBytesPerSecond: 4096,
      throughputWindowMs: 30_000,
    });
    const t = resolveTimeouts({ idleMs: 5, connectMs: undefined }, 700);
    assert.equal(t.connectMs, 700);
    assert.equal(t.headersMs, 700);
    assert.equal(t.idleMs, 5);
    assert.throws(() => resolveTimeouts({ headersMs: -1 }), /headersMs/);
  });
});
