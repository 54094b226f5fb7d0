/**
 * A reverse proxy in front of a registry that counts what the registry sends: requests and
 * response body bytes per blob digest. Put between a pull-through cache and its upstream, it
 * shows what the origin pays for a fleet of clients.
 */
import { once } from "node:events";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export interface BlobCount {
  requests: number;
  bytes: number;
}

export interface CountingProxy {
  url: string;
  host: string;
  /** Per blob digest: GET requests and body bytes the upstream sent. */
  blobs: Map<string, BlobCount>;
  /** All requests and body bytes (manifests, token and /v2/ checks included). */
  totals: { requests: number; bytes: number };
  /** Resolves once no upstream answer has been in flight for `quietMs` (a cache's background fill done). */
  idle(quietMs?: number): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  const blobs = new Map<string, BlobCount>();
  const totals = { requests: 0, bytes: 0 };
  let inflight = 0;
  let lastActivity = Date.now();
  const server = createServer((req, res) => {
    totals.requests++;
    inflight++;
    lastActivity = Date.now();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inflight--;
      lastActivity = Date.now();
    };
    res.on("close", finish);
    const digest = /\/blobs\/(sha256:[0-9a-f]{64})/.exec(req.url ?? "")?.[1];
    const count =
      digest && req.method === "GET" ? (blobs.get(digest) ?? { requests: 0, bytes: 0 }) : undefined;
    if (count && digest) {
      count.requests++;
      blobs.set(digest, count);
    }
    const headers = { ...req.headers, host: target.host };
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.on("data", (chunk: Buffer) => {
          lastActivity = Date.now();
          totals.bytes += chunk.length;
          if (count) count.bytes += chunk.length;
        });
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    blobs,
    totals,
    async idle(quietMs = 300) {
      const deadline = Date.now() + 60_000;
      while (inflight > 0 || Date.now() - lastActivity < quietMs) {
        if (Date.now() > deadline) throw new Error(`upstream still busy (${inflight} in flight)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    reset() {
      blobs.clear();
      totals.requests = 0;
      totals.bytes = 0;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close").catch(() => {});
    },
  };
}
