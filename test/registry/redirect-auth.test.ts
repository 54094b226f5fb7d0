/**
 * A registry that redirects blobs to another host which has its own token server: that host
 * gets its own (anonymous) token and never sees the registry's credentials.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { sha256, testClient } from "./helpers.js";

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    host,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

describe("authentication of redirect targets", () => {
  it("gets a separate token for a challenging redirect target and keeps registry credentials home", async () => {
    const blob = randomBytes(4000);
    const digest = sha256(blob);
    const basic = `Basic ${Buffer.from("alice:pw").toString("base64")}`;
    const seenByB: Array<{ path: string; auth: string | undefined }> = [];
    const b = await listen((req, res) => {
      seenByB.push({ path: req.url ?? "", auth: req.headers.authorization });
      if (req.url?.startsWith("/token")) {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ token: "token-for-b" }));
      }
      if (req.headers.authorization !== "Bearer token-for-b") {
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="http://${b.host}/token",service="b"`,
        });
        return void res.end();
      }
      const [s, e] = (req.headers.range ?? "bytes=0-3999")
        .replace("bytes=", "")
        .split("-")
        .map(Number) as [number, number];
      res.writeHead(206, { "content-range": `bytes ${s}-${e}/${blob.length}` });
      res.end(blob.subarray(s, e + 1));
    });
    const a = await listen((req, res) => {
      if (req.headers.authorization !== basic) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="a"' });
        return void res.end();
      }
      if (req.url === "/v2/") return void res.end("{}");
      res.writeHead(307, { location: `http://${b.host}/storage${req.url}` });
      res.end();
    });
    try {
      const c = testClient({ credentials: { [a.host]: { username: "alice", password: "pw" } } });
      const [got] = await c.fetchRanges(
        { registry: a.host, repository: "r", digest, size: blob.length },
        [{ offset: 100, length: 50 }],
      );
      assert.deepEqual(got, blob.subarray(100, 150));
      assert.ok(
        seenByB.some((r) => r.path.startsWith("/token")),
        "B's token server was asked",
      );
      assert.ok(
        seenByB.every((r) => r.auth !== basic),
        "the registry's Basic credentials never reached B",
      );
      assert.equal(
        seenByB.find((r) => r.path.startsWith("/token"))!.auth,
        undefined,
        "anonymous token for B",
      );
      // Later fetches go straight to the cached storage URL with B's token: one request each.
      const before = seenByB.length;
      const blobRef = { registry: a.host, repository: "r", digest, size: blob.length };
      const more = await c.fetchRanges(blobRef, [{ offset: 10, length: 5 }]);
      assert.deepEqual(more[0], blob.subarray(10, 15));
      assert.deepEqual(
        seenByB.slice(before).map((r) => [r.path.startsWith("/storage"), r.auth]),
        [[true, "Bearer token-for-b"]],
      );
      await c.close();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
