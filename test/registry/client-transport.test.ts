import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { startMockRegistry } from "../../mock-registry/src/index.js";
import { makeOrigins, originFor } from "../../src/registry/context.js";
import { NetworkError, NotFoundError } from "../../src/registry/errors.js";
import { parseWarnings } from "../../src/registry/warnings.js";
import { mockRepo, seedImage, testClient } from "./helpers.js";

/** A CONNECT-only forward proxy that counts tunnels. */
async function startProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.statusCode = 405;
    res.end();
  });
  server.on("connect", (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? "");
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

describe("endpoints, mirrors, proxies, timeouts, warnings", () => {
  it("chooses http only for loopback registries unless told otherwise", () => {
    assert.equal(originFor("localhost:5000", undefined), "http://localhost:5000");
    assert.equal(originFor("127.0.0.1:80", undefined), "http://127.0.0.1:80");
    assert.equal(originFor("ghcr.io", undefined), "https://ghcr.io");
    assert.equal(originFor("ghcr.io", true), "http://ghcr.io");
    assert.equal(originFor("localhost:5000", false), "https://localhost:5000");
    assert.equal(
      originFor("my.lan:5000", (h) => h.endsWith(".lan:5000")),
      "http://my.lan:5000",
    );
    assert.equal(
      originFor("https://mirror.example:8443/ignored", undefined),
      "https://mirror.example:8443",
    );
    const origins = makeOrigins(undefined, {
      "docker.io": ["mirror.gcr.io", "http://10.0.0.1:5000"],
    });
    assert.deepEqual(origins("docker.io"), [
      "https://mirror.gcr.io",
      "http://10.0.0.1:5000",
      "https://registry-1.docker.io",
    ]);
    assert.deepEqual(origins("quay.io"), ["https://quay.io"]);
  });

  it("tries mirrors in order and falls back to the registry", async () => {
    const upstream = await startMockRegistry();
    const emptyMirror = await startMockRegistry();
    const fullMirror = await startMockRegistry();
    try {
      const img = await seedImage(upstream, "lib/app", 2048);
      await seedImage(fullMirror, "lib/other", 16);
      // the full mirror holds the same blob under the same repository
      await fullMirror.putBlob("lib/app", img.layer);
      const c = testClient({ mirrors: { [upstream.host]: [emptyMirror.host, fullMirror.host] } });
      const repo = mockRepo(upstream, "lib/app");
      assert.equal((await c.getManifest(repo, "v1")).digest, img.indexDigest);
      assert.equal(emptyMirror.stats().requests.filter((r) => r.kind === "manifest").length, 1);
      assert.equal(fullMirror.stats().requests.filter((r) => r.kind === "manifest").length, 1);
      assert.equal(upstream.stats().requests.filter((r) => r.kind === "manifest").length, 1);
      upstream.resetStats();
      const [part] = await c.fetchRanges({ ...repo, digest: img.layerDigest, size: 2048 }, [
        { offset: 100, length: 50 },
      ]);
      assert.deepEqual(part, img.layer.subarray(100, 150));
      assert.equal(
        upstream.stats().requests.filter((r) => r.kind === "blob").length,
        0,
        "served by the mirror",
      );
      await assert.rejects(c.getManifest(repo, "missing"), NotFoundError);
      await c.close();
    } finally {
      await Promise.all([upstream.close(), emptyMirror.close(), fullMirror.close()]);
    }
  });

  it("goes through an explicit proxy and through HTTP_PROXY from the environment", async () => {
    const reg = await startMockRegistry();
    const proxy = await startProxy();
    try {
      const img = await seedImage(reg, "p/app", 1024);
      const viaOption = testClient({ proxy: proxy.url });
      assert.equal(
        (await viaOption.getManifest(mockRepo(reg, "p/app"), "v1")).digest,
        img.indexDigest,
      );
      await viaOption.close();
      assert.ok(proxy.tunnels.includes(reg.host), `tunnels: ${proxy.tunnels.join(" ")}`);
      proxy.tunnels.length = 0;
      const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
      process.env.HTTP_PROXY = proxy.url;
      delete process.env.NO_PROXY;
      let viaEnv: ReturnType<typeof testClient>;
      try {
        viaEnv = testClient();
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      assert.equal(
        (await viaEnv.getManifest(mockRepo(reg, "p/app"), "v1")).digest,
        img.indexDigest,
      );
      await viaEnv.close();
      assert.ok(proxy.tunnels.length > 0);
      const direct = testClient({ proxy: "none" });
      proxy.tunnels.length = 0;
      await direct.getManifest(mockRepo(reg, "p/app"), "v1");
      await direct.close();
      assert.equal(proxy.tunnels.length, 0);
    } finally {
      await proxy.close();
      await reg.close();
    }
  });

  it("times out slow answers and reports a NetworkError after retries", async () => {
    const reg = await startMockRegistry();
    try {
      await seedImage(reg, "slow/app", 16);
      reg.setModes({ latencyMs: 4000 }, "slow/app");
      const c = testClient({ timeoutMs: 200, retries: { retries: 1, baseDelayMs: 1 } });
      const t0 = Date.now();
      await assert.rejects(c.getManifest(mockRepo(reg, "slow/app"), "v1"), NetworkError);
      // two attempts cut short (undici timers tick about once a second), not 2 x 4 s
      assert.ok(Date.now() - t0 < 3500, `${Date.now() - t0} ms`);
      await c.close();
    } finally {
      await reg.close();
    }
  });

  it("surfaces each registry warning once", async () => {
    assert.deepEqual(parseWarnings(['299 - "one", 299 - "two \\"quoted\\""', '199 - "ignored"']), [
      "one",
      'two "quoted"',
    ]);
    const reg = await startMockRegistry({ modes: { warning: "this repository is deprecated" } });
    try {
      const img = await seedImage(reg, "w/app", 16);
      const seen: string[] = [];
      const c = testClient({ onWarning: (t) => seen.push(t) });
      await c.getManifest(mockRepo(reg, "w/app"), "v1");
      await c.getManifest(mockRepo(reg, "w/app"), img.manifestDigest);
      assert.deepEqual(seen, ["this repository is deprecated"]);
      await c.close();
    } finally {
      await reg.close();
    }
  });
});
