/**
 * Range answers the mock does not produce but real servers may: a single 206 that coalesces
 * all ranges, multipart parts that coalesce neighbours, a wrong complete length, and a part
 * that lies about its length. Served by a tiny hand-written registry.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { RangeResponseError, RegistryError } from "../../src/registry/errors.js";
import { sha256, testClient } from "./helpers.js";

type Handler = (ranges: Array<[number, number]>, res: ServerResponse) => void;

async function serve(
  handler: Handler,
): Promise<{ host: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/v2/") {
      res.end("{}");
      return;
    }
    const header = req.headers.range ?? "";
    requests.push(header);
    const ranges = header
      .replace(/^bytes=/, "")
      .split(",")
      .map((s) => s.split("-").map(Number) as [number, number]);
    handler(ranges, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

const blob = randomBytes(10_000);
const digest = sha256(blob);
const wanted = [
  { offset: 10, length: 10 },
  { offset: 30, length: 5 },
  { offset: 5000, length: 100 },
  { offset: 5200, length: 50 },
];

function multipart(
  res: ServerResponse,
  parts: Array<[number, number]>,
  total = blob.length,
  lie = 0,
): void {
  const b = "BOUNDARY";
  res.writeHead(206, { "content-type": `multipart/byteranges; boundary=${b}` });
  for (const [s, e] of parts) {
    res.write(`\r\n--${b}\r\nContent-Range: bytes ${s}-${e}/${total}\r\n\r\n`);
    res.write(blob.subarray(s, e + 1 - lie));
  }
  res.end(`\r\n--${b}--\r\n`);
}

describe("range answers from unusual servers", () => {
  it("maps a single coalesced 206 onto every range it covers (one request)", async () => {
    const srv = await serve((ranges, res) => {
      const first = ranges[0]![0];
      const last = ranges.at(-1)![1];
      res.writeHead(206, { "content-range": `bytes ${first}-${last}/${blob.length}` });
      res.end(blob.subarray(first, last + 1));
    });
    try {
      const c = testClient();
      const got = await c.fetchRanges(
        { registry: srv.host, repository: "x", digest, size: blob.length },
        wanted,
      );
      wanted.forEach((r, i) => {
        assert.deepEqual(got[i], blob.subarray(r.offset, r.offset + r.length));
      });
      assert.equal(srv.requests.length, 1);
      await c.close();
    } finally {
      await srv.close();
    }
  });

  it("maps multipart parts that coalesce neighbours, in any order", async () => {
    const srv = await serve((_ranges, res) =>
      multipart(res, [
        [5000, 5249],
        [10, 34],
      ]),
    );
    try {
      const c = testClient();
      const got = await c.fetchRanges(
        { registry: srv.host, repository: "x", digest, size: blob.length },
        wanted,
      );
      wanted.forEach((r, i) => {
        assert.deepEqual(got[i], blob.subarray(r.offset, r.offset + r.length));
      });
      assert.equal(srv.requests.length, 1);
      await c.close();
    } finally {
      await srv.close();
    }
  });

  it("refuses answers about another blob size or with short parts", async () => {
    for (const [total, lie] of [
      [blob.length + 1, 0],
      [blob.length, 3],
    ] as const) {
      const srv = await serve((ranges, res) => multipart(res, ranges, total, lie));
      try {
        const c = testClient();
        await assert.rejects(
          c.fetchRanges({ registry: srv.host, repository: "x", digest, size: blob.length }, wanted),
          (e: unknown) =>
            e instanceof RangeResponseError &&
            (lie ? /has \d+ bytes/ : /says the blob has 10001 bytes/).test(e.message),
        );
        await c.close();
      } finally {
        await srv.close();
      }
    }
  });

  it("refuses a Content-Encoding applied despite Accept-Encoding: identity", async () => {
    const srv = await serve((ranges, res) => {
      const [s, e] = ranges[0]!;
      res.writeHead(206, {
        "content-range": `bytes ${s}-${e}/${blob.length}`,
        "content-encoding": "gzip",
      });
      res.end(blob.subarray(s, e + 1));
    });
    try {
      const c = testClient();
      await assert.rejects(
        c.fetchRanges({ registry: srv.host, repository: "x", digest, size: blob.length }, [
          { offset: 0, length: 10 },
        ]),
        (e: unknown) =>
          e instanceof RegistryError &&
          /Content-Encoding gzip despite Accept-Encoding: identity/.test(e.message),
      );
      await c.close();
    } finally {
      await srv.close();
    }
  });
});
