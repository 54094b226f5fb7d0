import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { parseMultipart, pattern, raw } from "./client.js";

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const blob = pattern(20_000, 77);
const TWO = "bytes=0-9,100-109";

describe("behaviour modes", () => {
  let reg: MockRegistry;
  let digest: string;
  let path: string;
  before(async () => {
    reg = await startMockRegistry();
    digest = await reg.putBlob("modes/app", blob);
    await reg.putBlob("modes/other", blob);
    path = `${reg.url}/v2/modes/app/blobs/${digest}`;
  });
  beforeEach(() => reg.clearModes());
  after(() => reg.close());

  test("multiRange multipart (default) and reorder", async () => {
    const r = await raw(path, { headers: { Range: TWO } });
    assert.equal(r.status, 206);
    const parts = parseMultipart(r.body, String(r.headers["content-type"]));
    assert.deepEqual(
      parts.map((p) => p.headers["content-range"]),
      ["bytes 0-9/20000", "bytes 100-109/20000"],
    );
    assert.deepEqual(parts[1]!.data, blob.subarray(100, 110));
    reg.setModes({ multiRange: "reorder" });
    const re = await raw(path, { headers: { Range: TWO } });
    const rp = parseMultipart(re.body, String(re.headers["content-type"]));
    assert.deepEqual(
      rp.map((p) => p.headers["content-range"]),
      ["bytes 100-109/20000", "bytes 0-9/20000"],
    );
    assert.deepEqual(rp[0]!.data, blob.subarray(100, 110));
    assert.equal(Number(re.headers["content-length"]), re.body.length);
  });

  test("multiRange full200, status400/416/501, firstOnly", async () => {
    reg.setModes({ multiRange: "full200" });
    const full = await raw(path, { headers: { Range: TWO } });
    assert.equal(full.status, 200);
    assert.deepEqual(full.body, blob);
    const single = await raw(path, { headers: { Range: "bytes=5-9" } });
    assert.equal(single.status, 206, "single ranges still honoured");
    for (const [mode, status] of [
      ["status400", 400],
      ["status416", 416],
      ["status501", 501],
    ] as const) {
      reg.setModes({ multiRange: mode });
      const r = await raw(path, { headers: { Range: TWO } });
      assert.equal(r.status, status, mode);
      if (status === 416) assert.equal(r.headers["content-range"], "bytes */20000");
      assert.equal((await raw(path, { headers: { Range: "bytes=5-9" } })).status, 206, mode);
    }
    reg.setModes({ multiRange: "firstOnly" });
    const first = await raw(path, { headers: { Range: "bytes=100-109,0-9" } });
    assert.equal(first.status, 206);
    assert.equal(first.headers["content-range"], "bytes 100-109/20000");
    assert.deepEqual(first.body, blob.subarray(100, 110));
  });

  test("colonBoundary sends an unquoted boundary containing ':'", async () => {
    reg.setModes({ colonBoundary: true });
    const r = await raw(path, { headers: { Range: TWO } });
    const ct = String(r.headers["content-type"]);
    assert.match(ct, /^multipart\/byteranges; boundary=[^"]*:[^"]*$/);
    assert.equal(parseMultipart(r.body, ct).length, 2);
    assert.equal(Number(r.headers["content-length"]), r.body.length);
  });

  test("ignoreRange and acceptRanges=false", async () => {
    reg.setModes({ ignoreRange: true });
    const r = await raw(path, { headers: { Range: "bytes=0-9" } });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, blob.length);
    assert.equal(r.headers["accept-ranges"], "bytes");
    reg.setModes({ ignoreRange: false, acceptRanges: false });
    const n = await raw(path, { headers: { Range: "bytes=0-9" } });
    assert.equal(n.status, 206);
    assert.equal(n.headers["accept-ranges"], undefined);
  });

  test("closedRangesOnly: bytes=N-M works, open/suffix/multi get 416", async () => {
    reg.setModes({ closedRangesOnly: true });
    const ok = await raw(path, { headers: { Range: "bytes=10-19" } });
    assert.equal(ok.status, 206);
    assert.deepEqual(ok.body, blob.subarray(10, 20));
    for (const h of ["bytes=10-", "bytes=-10", TWO]) {
      const r = await raw(path, { headers: { Range: h } });
      assert.equal(r.status, 416, h);
      assert.equal(r.headers["content-range"], "bytes */20000", h);
    }
    assert.equal((await raw(path)).status, 200);
  });

  test("resetAfterBytes cuts the connection after exactly N body bytes", async () => {
    reg.setModes({ resetAfterBytes: 5000 });
    const r = await raw(path);
    assert.equal(r.status, 200);
    assert.ok(r.error, "client must see a connection error");
    assert.equal(r.body.length, 5000);
    assert.deepEqual(r.body, blob.subarray(0, 5000));
    const rec = reg.stats().requests.at(-1)!;
    assert.equal(rec.aborted, true);
    assert.equal(rec.bytesSent, 5000);
  });

  test("bandwidth cap and latency slow the answer down", async () => {
    reg.setModes({ bandwidthBytesPerSecond: 50_000 });
    let t = Date.now();
    const r = await raw(path); // 20 000 bytes at 50 kB/s: >= ~400 ms
    assert.deepEqual(r.body, blob);
    assert.ok(Date.now() - t >= 350, `took ${Date.now() - t} ms`);
    reg.setModes({ bandwidthBytesPerSecond: 0, latencyMs: 200 });
    t = Date.now();
    await raw(`${reg.url}/v2/`);
    assert.ok(Date.now() - t >= 190);
  });

  test("tooManyRequests for the next N requests, Retry-After in seconds and HTTP-date", async () => {
    reg.setModes({ tooManyRequests: { count: 2, retryAfterSeconds: 3, form: "seconds" } });
    for (let i = 0; i < 2; i++) {
      const r = await raw(`${reg.url}/v2/`);
      assert.equal(r.status, 429);
      assert.equal(r.headers["retry-after"], "3");
      assert.equal(JSON.parse(r.body.toString()).errors[0].code, "TOOMANYREQUESTS");
    }
    assert.equal((await raw(`${reg.url}/v2/`)).status, 200);
    reg.setModes({ tooManyRequests: { count: 1, retryAfterSeconds: 120, form: "http-date" } });
    const d = await raw(path);
    assert.equal(d.status, 429);
    const when = Date.parse(String(d.headers["retry-after"]));
    assert.match(String(d.headers["retry-after"]), /GMT$/);
    assert.ok(Math.abs(when - (Date.now() + 120_000)) < 3000);
  });

  test("serverErrors burst; per-repo counters only see their repo", async () => {
    reg.setModes({ serverErrors: { count: 2, status: 503 } }, "modes/other");
    assert.equal((await raw(path)).status, 200, "other repo unaffected");
    const other = `${reg.url}/v2/modes/other/blobs/${digest}`;
    assert.equal((await raw(other)).status, 503);
    assert.equal((await raw(`${reg.url}/v2/`)).status, 200, "ping unaffected by a per-repo burst");
    assert.equal((await raw(other)).status, 503);
    assert.equal((await raw(other)).status, 200);
    reg.setModes({ serverErrors: { count: 1, status: 502 } });
    assert.equal((await raw(`${reg.url}/v2/`)).status, 502);
    assert.equal((await raw(`${reg.url}/v2/`)).status, 200);
  });

  test("corruptByteAt flips exactly that byte wherever it is sent", async () => {
    reg.setModes({ corruptByteAt: 105 });
    const full = await raw(path);
    const diff = [...full.body.keys()].filter((i) => full.body[i] !== blob[i]);
    assert.deepEqual(diff, [105]);
    assert.equal(full.body[105], blob[105]! ^ 0xff);
    const clean = await raw(path, { headers: { Range: "bytes=0-99" } });
    assert.deepEqual(clean.body, blob.subarray(0, 100));
    const parts = parseMultipart((await raw(path, { headers: { Range: TWO } })).body, "boundary=x");
    assert.equal(parts.length, 0, "sanity: wrong boundary finds nothing");
    const mp = await raw(path, { headers: { Range: TWO } });
    const p = parseMultipart(mp.body, String(mp.headers["content-type"]));
    assert.deepEqual(p[0]!.data, blob.subarray(0, 10));
    assert.notDeepEqual(p[1]!.data, blob.subarray(100, 110));
  });

  test("redirectBlobs: 307 to the storage origin, signed, expiring, no Authorization, GET only", async () => {
    reg.setModes({ redirectBlobs: true, redirectTtlSeconds: 60 });
    const r = await raw(path, { headers: { Range: "bytes=0-9" } });
    assert.equal(r.status, 307);
    const loc = String(r.headers.location);
    assert.ok(loc.startsWith(`${reg.storageUrl}/blobs/${digest}?`), loc);
    assert.notEqual(new URL(loc).port, new URL(reg.url).port);
    const ranged = await raw(loc, { headers: { Range: "bytes=0-9" } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(ranged.body, blob.subarray(0, 10));
    assert.deepEqual((await raw(loc)).body, blob);
    assert.equal((await raw(loc, { headers: { Authorization: "Bearer x" } })).status, 400);
    assert.equal((await raw(loc, { method: "HEAD" })).status, 403);
    const tampered = loc.replace(
      /sig=([0-9a-f])/,
      (_m, c: string) => `sig=${c === "0" ? "1" : "0"}`,
    );
    assert.equal((await raw(tampered)).status, 403);
    assert.equal(
      (await raw(path, { method: "HEAD" })).status,
      200,
      "HEAD is served without redirect",
    );
    reg.setModes({ multiRange: "status501" });
    assert.equal(
      (await raw(loc, { headers: { Range: TWO } })).status,
      501,
      "storage origin uses the modes",
    );
    reg.setModes({ redirectTtlSeconds: 0 });
    const expired = String((await raw(path)).headers.location);
    await new Promise((res) => setTimeout(res, 1100));
    const e = await raw(expired);
    assert.equal(e.status, 403);
    assert.match(e.body.toString(), /expired/);
  });

  test("manifest modes: digest header absent/wrong, HEAD 405, Warning", async () => {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    const md = await reg.putManifest("modes/app", "v1", body, OCI_INDEX);
    const url = `${reg.url}/v2/modes/app/manifests/v1`;
    const headers = { Accept: OCI_INDEX };
    assert.equal((await raw(url, { headers })).headers["docker-content-digest"], md);
    reg.setModes({ manifestDigestHeader: "absent" });
    assert.equal((await raw(url, { headers })).headers["docker-content-digest"], undefined);
    reg.setModes({ manifestDigestHeader: "wrong" });
    const w = String((await raw(url, { headers })).headers["docker-content-digest"]);
    assert.match(w, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(w, md);
    assert.equal(sha(body), md);
    reg.setModes({ manifestHead405: true, warning: 'be "careful"' });
    const h = await raw(url, { method: "HEAD", headers });
    assert.equal(h.status, 405);
    assert.equal(h.headers.warning, `299 - "be 'careful'"`);
    assert.equal((await raw(url, { headers })).status, 200);
  });

  test("per-repo modes override global ones; clearModes(repo) and admin endpoint", async () => {
    reg.setModes({ multiRange: "status400" });
    reg.setModes({ multiRange: "full200" }, "modes/other");
    const other = `${reg.url}/v2/modes/other/blobs/${digest}`;
    assert.equal((await raw(path, { headers: { Range: TWO } })).status, 400);
    assert.equal((await raw(other, { headers: { Range: TWO } })).status, 200);
    reg.clearModes("modes/other");
    assert.equal((await raw(other, { headers: { Range: TWO } })).status, 400);
    const put = await raw(`${reg.url}/_mock/modes/modes/other`, {
      method: "PUT",
      body: JSON.stringify({ multiRange: "status501" }),
    });
    assert.equal(put.status, 200);
    assert.equal((await raw(other, { headers: { Range: TWO } })).status, 501);
    const snap = JSON.parse((await raw(`${reg.url}/_mock/modes`)).body.toString());
    assert.equal(snap.global.multiRange, "status400");
    assert.equal(snap.repos["modes/other"].multiRange, "status501");
    const bad = await raw(`${reg.url}/_mock/modes`, {
      method: "PUT",
      body: JSON.stringify({ nope: 1 }),
    });
    assert.equal(bad.status, 400);
    await raw(`${reg.url}/_mock/modes`, { method: "DELETE" });
    assert.equal((await raw(other, { headers: { Range: TWO } })).status, 206);
  });

  test("modes given at start apply", async () => {
    const r2 = await startMockRegistry({ modes: { multiRange: "status416" } });
    try {
      const d = await r2.putBlob("x", blob);
      assert.equal(
        (await raw(`${r2.url}/v2/x/blobs/${d}`, { headers: { Range: TWO } })).status,
        416,
      );
    } finally {
      await r2.close();
    }
  });
});
