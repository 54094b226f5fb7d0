import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { startMockRegistry } from "../../mock-registry/src/index.js";
import { pattern, raw } from "./client.js";

describe("accounting", () => {
  test("per-request records, per-blob totals, redirects counted where bytes flow, reset", async () => {
    const reg = await startMockRegistry();
    try {
      const data = pattern(1000);
      const d = await reg.putBlob("s/app", data);
      const url = `${reg.url}/v2/s/app/blobs/${d}`;
      await raw(`${reg.url}/v2/`);
      await raw(url);
      await raw(url, { headers: { Range: "bytes=0-99" } });
      const mp = await raw(url, { headers: { Range: "bytes=0-9,20-29" } });
      await raw(url, { method: "HEAD" });
      reg.setModes({ redirectBlobs: true });
      const redir = await raw(url, { headers: { Range: "bytes=100-199" } });
      await raw(String(redir.headers.location), { headers: { Range: "bytes=100-199" } });
      await raw(`${reg.url}/_mock/stats`);

      const s = reg.stats();
      assert.deepEqual(
        s.requests.map((r) => [
          r.origin,
          r.kind,
          r.method,
          r.status,
          r.bytesSent,
          r.redirected,
          r.range ?? null,
        ]),
        [
          ["registry", "ping", "GET", 200, 2, false, null],
          ["registry", "blob", "GET", 200, 1000, false, null],
          ["registry", "blob", "GET", 206, 100, false, "bytes=0-99"],
          ["registry", "blob", "GET", 206, mp.body.length, false, "bytes=0-9,20-29"],
          ["registry", "blob", "HEAD", 200, 0, false, null],
          ["registry", "blob", "GET", 307, 0, true, "bytes=100-199"],
          ["storage", "blob", "GET", 206, 100, false, "bytes=100-199"],
        ],
      );
      assert.ok(s.requests.every((r) => r.repo === (r.kind === "ping" ? undefined : "s/app")));
      assert.equal(s.requests[1]!.digest, d);
      const b = s.blobs[d]!;
      assert.equal(
        b.requests,
        5,
        "GETs and HEAD on the registry plus the storage GET; not the 307",
      );
      assert.equal(b.rangeRequests, 3);
      assert.equal(b.fullBodies, 1);
      assert.equal(b.bytesSent, 1000 + 100 + mp.body.length + 100);
      assert.equal(s.totals.requests, 7);
      assert.equal(s.totals.redirects, 1);
      assert.equal(s.totals.blobRequests, 6);
      assert.equal(s.totals.rangeRequests, 4);
      assert.equal(s.totals.blobBytesSent, b.bytesSent);
      assert.equal(s.totals.byStatus["206"], 3);

      const http = JSON.parse((await raw(`${reg.url}/_mock/stats`)).body.toString());
      assert.deepEqual(http.totals, s.totals);
      reg.resetStats();
      assert.equal(reg.stats().requests.length, 0);
      assert.equal(reg.stats().totals.requests, 0);
      await raw(`${reg.url}/v2/`);
      await raw(`${reg.url}/_mock/stats/reset`, { method: "POST" });
      assert.equal(reg.stats().totals.requests, 0);
    } finally {
      await reg.close();
    }
  });
});
