/**
 * Raw transport failures reach the user typed, with the URL, a code and the original as cause:
 * TLS to a plain-HTTP registry (naming --plain-http), a server that does not speak HTTP, a
 * refused connection; the user agent carries the package version; the overall time limit
 * (library `timeoutMs`, CLI `--timeout`) and the default deadlines fail a stalled pull.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile, rm } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { pull } from "../../src/pull/pull.js";
import { NetworkError, ProtocolError, TimeoutError, TlsError } from "../../src/registry/errors.js";
import { wrapTransportError } from "../../src/registry/transport-errors.js";
import { ROOT, runCli } from "../cli/helpers.js";
import { freePort } from "../helpers/docker-registry.js";
import { freshStore, pushTo, sampleImages } from "../pull/helpers.js";
import { seedImage, testClient } from "./helpers.js";

const repoAt = (host: string) => ({ registry: host, repository: "x/y" });

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => assert.fail("resolved"),
    (e: unknown) => e,
  );
}

describe("transport errors", () => {
  let reg: MockRegistry;
  before(async () => {
    reg = await startMockRegistry();
    await seedImage(reg, "x/y", 16);
  });
  after(() => reg.close());

  it("TLS to a plain-HTTP registry: one line naming --plain-http, code ETLS, not retried", async () => {
    const c = testClient({ plainHttp: false });
    const err = await rejection(c.getManifest(repoAt(reg.host), "v1"));
    assert.ok(err instanceof TlsError, String(err));
    assert.equal(err.code, "ETLS");
    assert.match(err.message, /^GET https:\/\/127\.0\.0\.1:\d+\/v2\/: TLS handshake failed/);
    assert.match(err.message, /--plain-http/);
    assert.doesNotMatch(err.message, /\n|deps\/openssl/);
    assert.equal(err.url, `https://${reg.host}/v2/`);
    assert.ok(err.cause instanceof Error);
    await c.close();
  });

  it("a server that does not speak HTTP gets EPROTOCOL", async () => {
    const server = createNetServer((s) => {
      s.on("error", () => {});
      s.end("SSH-2.0-OpenSSH_9.2p1 Debian\r\n");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const c = testClient({ retries: 1 });
      const err = await rejection(c.getManifest(repoAt(host), "v1"));
      assert.ok(err instanceof ProtocolError, String(err));
      assert.equal(err.code, "EPROTOCOL");
      assert.match(
        err.message,
        new RegExp(`GET http://${host}/v2/: the server did not answer with HTTP`),
      );
      await c.close();
    } finally {
      server.close();
    }
  });

  it("a refused connection: NetworkError with the URL, errno code and cause", async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const c = testClient({ retries: { retries: 1, baseDelayMs: 1 } });
    const err = await rejection(c.getManifest(repoAt(host), "v1"));
    assert.ok(err instanceof NetworkError && !(err instanceof TimeoutError), String(err));
    assert.equal(err.code, "ENETWORK");
    assert.match(err.message, new RegExp(`GET http://${host}/v2/: .*ECONNREFUSED`));
    assert.match(err.message, /gave up after 2 failed attempt/);
    let cur: unknown = err;
    let codes = "";
    for (; cur instanceof Error; cur = cur.cause) codes += ` ${(cur as { code?: string }).code}`;
    assert.match(codes, /ECONNREFUSED/);
    await c.close();
  });

  it("sends the package version as user agent", async () => {
    const agents: string[] = [];
    const server = createHttpServer((req, res) => {
      agents.push(req.headers["user-agent"] ?? "");
      res.writeHead(404).end();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const c = testClient();
      await assert.rejects(c.getManifest(repoAt(host), "v1"));
      await c.close();
      const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
      assert.ok(agents.length > 0);
      assert.ok(
        agents.every((a) => a === `chunkpull/${version}`),
        agents.join(),
      );
    } finally {
      server.close();
    }
  });
});

describe("stalled servers fail a pull", { concurrency: true }, () => {
  let reg: MockRegistry;
  before(async () => {
    reg = await startMockRegistry();
    const images = await sampleImages("zstd:chunked");
    for (const repo of ["stall/limit", "stall/cli", "stall/body", "stall/trickle"])
      await pushTo(reg, repo, "v1", images.v1);
    reg.setModes({ stallHeaders: true }, "stall/limit");
    reg.setModes({ stallHeaders: true }, "stall/cli");
  });
  after(() => reg.close());

  it("the overall time limit (timeoutMs) ends a pull with ETIMEOUT", async () => {
    const { dir, store } = await freshStore();
    try {
      const t0 = Date.now();
      const err = await rejection(pull(`${reg.host}/stall/limit:v1`, { store, timeoutMs: 1500 }));
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.kind, "total");
      assert.match(err.message, /did not finish within the time limit of 1500 ms/);
      assert.match(err.message, /waiting for http:\/\/.*\/stall\/limit\/manifests\/v1/);
      assert.ok(Date.now() - t0 < 15_000, `${Date.now() - t0} ms`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("chunkpull pull --timeout: exit 1, one line with ETIMEOUT; a bad value is a usage error", async () => {
    const { dir } = await freshStore();
    try {
      const r = await runCli([
        "pull",
        `${reg.host}/stall/cli:v1`,
        "--store",
        dir,
        "--timeout",
        "1",
        "-q",
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^chunkpull: .*time limit of 1 s.*\[ETIMEOUT\]\n$/);
      const bad = await runCli(["pull", `${reg.host}/stall/cli:v1`, "--timeout", "soon"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--timeout must be a positive number of seconds/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("with the default deadlines, headers that never come fail a pull within 60 s", async () => {
    const stalled = await startMockRegistry({ modes: { stallHeaders: true } });
    const { dir, store } = await freshStore();
    try {
      const t0 = Date.now();
      const err = await rejection(pull(`${stalled.host}/any/thing:v1`, { store }));
      const took = Date.now() - t0;
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.kind, "headers");
      assert.match(err.message, new RegExp(`GET http://${stalled.host}/v2/: no response headers`));
      assert.ok(took < 60_000, `${took} ms`);
    } finally {
      await stalled.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("with the default deadlines, a body that stops fails a pull within 60 s", async () => {
    // Manifests and config come; every blob answer stops after 1 kB and stays silent.
    reg.setModes({ stallAfterBytes: 1000 }, "stall/body");
    const { dir, store } = await freshStore();
    try {
      const t0 = Date.now();
      const err = await rejection(pull(`${reg.host}/stall/body:v1`, { store }));
      const took = Date.now() - t0;
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.kind, "idle");
      assert.match(err.message, /the response body stalled for 20 s/);
      assert.ok(took < 60_000, `${took} ms`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("with the default deadlines, a 2 KB/s trickle fails a pull within 60 s", async () => {
    reg.setModes({ bandwidthBytesPerSecond: 2048 }, "stall/trickle");
    const { dir, store } = await freshStore();
    try {
      const t0 = Date.now();
      const err = await rejection(pull(`${reg.host}/stall/trickle:v1`, { store }));
      const took = Date.now() - t0;
      assert.ok(err instanceof TimeoutError, String(err));
      assert.equal(err.kind, "throughput");
      assert.match(err.message, /below the minimum of 4096 bytes\/s/);
      assert.ok(took < 60_000, `${took} ms`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("raw failures mapped to typed errors (units)", () => {
  const limits = { connectMs: 10_000, headersMs: 20_000, idleMs: 1500 };
  const raw = (message: string, code?: string, cause?: Error) =>
    Object.assign(new Error(message, cause ? { cause } : undefined), code ? { code } : {});
  const wrap = (e: unknown, signal?: AbortSignal) =>
    wrapTransportError(e, "GET", "https://r.example/v2/", limits, signal);

  it("names each deadline with its limit", () => {
    for (const [code, kind, text] of [
      ["UND_ERR_CONNECT_TIMEOUT", "connect", "no connection within 10 s"],
      ["UND_ERR_HEADERS_TIMEOUT", "headers", "no response headers within 20 s"],
      ["UND_ERR_BODY_TIMEOUT", "idle", "the response body stalled for 1500 ms"],
    ] as const) {
      const e = wrap(raw("timeout", code));
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.kind, kind);
      assert.equal(e.message, `GET https://r.example/v2/: ${text}`);
      assert.equal(e.url, "https://r.example/v2/");
    }
  });

  it("tells TLS, protocol and socket failures apart, keeps aborts and our own errors", () => {
    const tls = wrap(
      raw(
        "fetch failed",
        undefined,
        raw(
          "140:error:0A00010B:SSL routines::wrong version number",
          "ERR_SSL_WRONG_VERSION_NUMBER",
        ),
      ),
    );
    assert.ok(tls instanceof TlsError && /--plain-http/.test(tls.message));
    const cert = wrap(raw("self-signed certificate", "DEPTH_ZERO_SELF_SIGNED_CERT"));
    assert.ok(
      cert instanceof TlsError && /not trusted: self-signed certificate/.test(cert.message),
    );
    const hpe = wrap(
      raw("Response does not match the HTTP/1.1 protocol (Expected HTTP/)", "HPE_INVALID_CONSTANT"),
    );
    assert.ok(hpe instanceof ProtocolError);
    const reset = wrap(raw("read ECONNRESET", "ECONNRESET"));
    assert.ok(
      reset instanceof NetworkError &&
        reset.message === "GET https://r.example/v2/: read ECONNRESET",
    );
    const dns = wrap(raw("getaddrinfo ENOTFOUND r.example", "ENOTFOUND"));
    assert.match((dns as Error).message, /ENOTFOUND r\.example$/);
    const abort = Object.assign(new Error("aborted"), { name: "AbortError" });
    assert.equal(wrap(abort), abort);
    const ours = new TlsError("x");
    assert.equal(wrap(ours), ours);
    const total = wrap(abort, AbortSignal.abort(new DOMException("t", "TimeoutError")));
    assert.ok(total instanceof TimeoutError && total.kind === "total");
  });
});
