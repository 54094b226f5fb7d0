import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startMockRegistry } from "../../mock-registry/src/index.js";
import { MediaType } from "../../src/oci/media-types.js";
import { hasCommand } from "../helpers/docker-registry.js";
import { mockRepo, seedImage, sha256, spreadRanges, testClient } from "./helpers.js";

async function selfSigned(): Promise<{ cert: Buffer; key: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), "chunkpull-tls-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, "k.pem"),
      "-out",
      join(dir, "c.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  return { cert: await readFile(join(dir, "c.pem")), key: await readFile(join(dir, "k.pem")) };
}

describe("TLS and cancellation", () => {
  it("talks HTTPS to a registry with a private CA, and refuses an unknown certificate", {
    skip: hasCommand("openssl") ? false : "openssl missing",
  }, async () => {
    const { cert, key } = await selfSigned();
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    const server = createServer({ cert, key }, (req, res) => {
      if (req.url === "/v2/") return void res.end("{}");
      res.writeHead(200, { "content-type": MediaType.OciIndex });
      res.end(manifest);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const trusted = testClient({ plainHttp: false, tls: { ca: cert } });
      assert.equal(
        (await trusted.getManifest({ registry: host, repository: "x" }, "t")).digest,
        sha256(manifest),
      );
      await trusted.close();
      const untrusted = testClient({ plainHttp: false, retries: 0 });
      await assert.rejects(
        untrusted.getManifest({ registry: host, repository: "x" }, "t"),
        /certificate/i,
      );
      await untrusted.close();
      const insecure = testClient({ plainHttp: false, tls: { rejectUnauthorized: false } });
      assert.equal(
        (await insecure.getManifest({ registry: host, repository: "x" }, "t")).digest,
        sha256(manifest),
      );
      await insecure.close();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("aborts range fetches and blob streams when the signal fires", async () => {
    const reg = await startMockRegistry();
    try {
      const img = await seedImage(reg, "slow/blob", 200_000);
      reg.setModes({ bandwidthBytesPerSecond: 50_000 }, "slow/blob");
      const c = testClient();
      const blob = {
        ...mockRepo(reg, "slow/blob"),
        digest: img.layerDigest,
        size: img.layer.length,
      };
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error("user gave up")), 150);
      const t0 = Date.now();
      await assert.rejects(
        c.fetchRanges(blob, spreadRanges(img.layer.length, 10, 15_000), { signal: ac.signal }),
        /user gave up|aborted/i,
      );
      assert.ok(Date.now() - t0 < 1500, `${Date.now() - t0} ms`);
      const ac2 = new AbortController();
      const stream = await c.openBlob(blob, { signal: ac2.signal });
      setTimeout(() => ac2.abort(), 100);
      await assert.rejects(
        (async () => {
          for await (const _ of stream) {
            // keep reading until the abort
          }
        })(),
      );
      await c.close();
    } finally {
      await reg.close();
    }
  });
});
