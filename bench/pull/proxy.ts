/**
 * A counting, optionally shaped reverse proxy in front of a registry, run as its own process:
 * `node proxy.js UPSTREAM_URL` prints "listening on URL". Every tool in the bench pulls through
 * it, so bytes and requests are counted the same way for all of them, and the shaped link
 * (one shared bandwidth budget for all connections, a fixed delay per request) is the same.
 * Control: GET /_proxy/stats, POST /_proxy/reset, PUT /_proxy/shape {bytesPerSecond, latencyMs}.
 */
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";

const upstream = new URL(process.argv[2] ?? "");
let stats = { requests: 0, bytes: 0 };
let shape = { bytesPerSecond: 0, latencyMs: 0 };
/** When the shared link is next free (ms, performance.now() clock). */
let linkFreeAt = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readJson(req: IncomingMessage): Promise<unknown> {
  let s = "";
  for await (const c of req) s += c;
  return s ? JSON.parse(s) : {};
}

/** Waits until `len` more bytes may leave on the shaped link. */
async function linkSlot(len: number): Promise<void> {
  const now = performance.now();
  const start = Math.max(now, linkFreeAt);
  linkFreeAt = start + (len * 1000) / shape.bytesPerSecond;
  if (linkFreeAt - now > 1) await sleep(linkFreeAt - now);
}

const server = createServer(async (req, res) => {
  const url = req.url ?? "/";
  if (url.startsWith("/_proxy/")) {
    if (url === "/_proxy/reset") stats = { requests: 0, bytes: 0 };
    if (url === "/_proxy/shape") {
      shape = {
        bytesPerSecond: 0,
        latencyMs: 0,
        ...((await readJson(req)) as Partial<typeof shape>),
      };
      linkFreeAt = 0;
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(stats));
    return;
  }
  stats.requests++;
  if (shape.latencyMs > 0) await sleep(shape.latencyMs);
  const headers = { ...req.headers, host: upstream.host };
  const up = httpRequest(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: url, headers },
    async (ures) => {
      // Redirects and upload locations must keep pointing at the proxy.
      const h = { ...ures.headers };
      if (typeof h.location === "string")
        h.location = h.location.replace(upstream.origin, `http://${req.headers.host}`);
      res.writeHead(ures.statusCode ?? 502, h);
      try {
        for await (const chunk of ures as AsyncIterable<Buffer>) {
          for (let off = 0; off < chunk.length; off += 64 << 10) {
            const piece = chunk.subarray(off, off + (64 << 10));
            if (shape.bytesPerSecond > 0) await linkSlot(piece.length);
            stats.bytes += piece.length;
            if (!res.write(piece)) await new Promise((r) => res.once("drain", r));
          }
        }
        res.end();
      } catch {
        res.destroy();
      }
    },
  );
  up.on("error", () => res.destroy());
  res.on("close", () => up.destroy());
  req.pipe(up);
});
server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => {
  const a = server.address() as { port: number };
  process.stdout.write(`listening on http://127.0.0.1:${a.port}\n`);
});
