/**
 * A small HTTP proxy for tests, in front of a registry on loopback: counts what passes (body
 * bytes and requests per blob, requests in flight at once) and can strip the Range header, to
 * play a registry that ignores Range.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface TestProxy {
  host: string;
  /** Body bytes the proxy passed on, per blob digest, and the GETs for it. */
  blobs: Map<string, { requests: number; bytes: number }>;
  /** The most requests that were in flight at the same time. */
  maxInFlight: number;
  close(): Promise<void>;
}

export async function startProxy(
  upstream: string,
  opts: { stripRange?: boolean } = {},
): Promise<TestProxy> {
  const [upHost, upPort] = upstream.split(":");
  let inFlight = 0;
  const proxy: TestProxy = {
    host: "",
    blobs: new Map(),
    maxInFlight: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((req, res) => {
    inFlight++;
    proxy.maxInFlight = Math.max(proxy.maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    const headers = { ...req.headers };
    if (opts.stripRange) {
      delete headers.range;
      delete headers["if-range"];
    }
    const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? "")?.[1];
    const count =
      digest && req.method === "GET"
        ? (proxy.blobs.get(digest) ?? { requests: 0, bytes: 0 })
        : undefined;
    if (digest && count) {
      count.requests++;
      proxy.blobs.set(digest, count);
    }
    const up = request(
      { host: upHost, port: Number(upPort), method: req.method, path: req.url, headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.on("data", (piece: Buffer) => {
          if (count) count.bytes += piece.length;
        });
        upRes.pipe(res);
      },
    );
    res.on("close", () => up.destroy());
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  // A slow consumer must not see the proxy close a keep-alive connection under it.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
