/**
 * Faults against the real distribution registry (Debian `docker-registry`): behind a TCP proxy
 * that resets every connection after 300 kB, a v1 then v2 pull completes partially and verified
 * with the default range sizes; https to it (a plain-HTTP registry) is one TlsError naming
 * --plain-http. With CI set, a missing docker-registry fails the run instead of skipping.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Digest } from "../../src/digest.js";
import { pushImage } from "../../src/image/build.js";
import { pull } from "../../src/pull/pull.js";
import { TlsError } from "../../src/registry/errors.js";
import { type DockerRegistry, startDockerRegistry, toolSkip } from "../helpers/docker-registry.js";
import { freshStore, sampleImages } from "../pull/helpers.js";
import { testClient } from "./helpers.js";

const skip = toolSkip(["docker-registry"]);

/** A TCP proxy to `port` that resets each connection once it has carried `limit` bytes back. */
async function resettingProxy(
  port: number,
  limit: number,
): Promise<{ host: string; resets: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { host: "", resets: 0, close: async () => {} };
  const server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    let sent = 0;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream);
    upstream.on("data", (data: Buffer) => {
      if (client.destroyed) return;
      if (sent + data.length < limit) {
        sent += data.length;
        client.write(data);
        return;
      }
      client.write(data.subarray(0, limit - sent), () => {
        // A TCP RST after what was written arrived: the client sees ECONNRESET mid-body.
        setTimeout(() => client.resetAndDestroy(), 20);
      });
      sent = limit;
      state.resets++;
      upstream.destroy();
    });
    upstream.on("end", () => client.end());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  state.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  state.close = async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, "close");
  };
  return state;
}

describe("docker-registry behind faults", { skip }, () => {
  let reg: DockerRegistry;
  before(async () => {
    reg = await startDockerRegistry();
    const images = await sampleImages("zstd:chunked");
    const client = testClient();
    try {
      const sink = {
        putBlob: (repository: string, data: Uint8Array) =>
          client.pushBlob({ registry: reg.host, repository }, Buffer.from(data)),
        putManifest: (repository: string, reference: string, body: Uint8Array, mt: string) =>
          client.pushManifest({ registry: reg.host, repository }, reference, Buffer.from(body), mt),
      };
      for (const [tag, image] of [
        ["v1", images.v1],
        ["v2", images.v2],
      ] as const) {
        const digest: Digest = await pushImage(sink, "faults/app", tag, image);
        assert.equal(digest, image.manifestDigest);
      }
    } finally {
      await client.close();
    }
  });
  after(() => reg?.close());

  test("a connection reset every 300 kB: v1 then v2 pull partially and verified", async () => {
    const port = Number(reg.host.split(":")[1]);
    const proxy = await resettingProxy(port, 300_000);
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      for (const tag of ["v1", "v2"]) {
        const r = await pull(`${proxy.host}/faults/app:${tag}`, { store, client });
        for (const l of r.layers) {
          assert.ok(
            l.mode === "partial" || l.mode === "cached",
            `${tag}: ${l.mode} ${l.fallbackReason}`,
          );
          assert.equal(l.verified, "diff-id");
        }
      }
      assert.ok(proxy.resets > 0, "the proxy did reset connections");
    } finally {
      await client.close();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("https to the plain-HTTP registry: one TlsError naming --plain-http", async () => {
    const c = testClient({ plainHttp: false });
    await assert.rejects(
      c.getManifest({ registry: reg.host, repository: "faults/app" }, "v1"),
      (e: unknown) =>
        e instanceof TlsError &&
        e.code === "ETLS" &&
        /--plain-http/.test(e.message) &&
        !e.message.includes("\n"),
    );
    await c.close();
  });
});
