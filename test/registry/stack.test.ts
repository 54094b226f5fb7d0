/**
 * The composable HTTP stack: layers compose like undici interceptors; a caller's per-attempt
 * layer sees every attempt (retries, token requests), a per-request layer can rewrite the URL
 * before auth and redirects (a mirror rewriter), and a caller's own undici dispatcher carries
 * the requests and stays open after the client closes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agent, type Dispatcher } from "undici";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { compose, type HttpRequest, type Layer, type Send } from "../../src/registry/http.js";
import { freePort } from "../helpers/docker-registry.js";
import { mockRepo, type SeededImage, seedImage, testClient } from "./helpers.js";

describe("composable HTTP stack", () => {
  let reg: MockRegistry;
  let img: SeededImage;
  before(async () => {
    reg = await startMockRegistry({
      auth: { kind: "bearer", users: { u: "p" }, anonymousPull: false },
    });
    img = await seedImage(reg, "s/app", 4096);
  });
  after(() => reg.close());

  it("compose: the first layer wraps the base, the last is outermost", async () => {
    const order: string[] = [];
    const tag =
      (name: string): Layer =>
      (next) =>
      async (req) => {
        order.push(`${name}>`);
        const res = await next(req);
        order.push(`<${name}`);
        return res;
      };
    const base: Send = async (req) => {
      order.push("base");
      return { status: 204, headers: {}, url: req.url } as Awaited<ReturnType<Send>>;
    };
    await compose(
      base,
      tag("a"),
      tag("b"),
    )({ method: "GET", url: new URL("http://x/"), headers: {} });
    assert.deepEqual(order, ["b>", "a>", "base", "<a", "<b"]);
  });

  it("a per-attempt layer sees every attempt: the ping, token requests and retries", async () => {
    const seen: HttpRequest[] = [];
    const logger: Layer = (next) => async (req) => {
      seen.push(req);
      return next(req);
    };
    reg.setModes({ serverErrors: { count: 2, status: 503 } }, "s/app");
    const c = testClient({
      credentials: { username: "u", password: "p" },
      layers: { perAttempt: [logger] },
    });
    const m = await c.getManifest(mockRepo(reg, "s/app"), "v1");
    assert.equal(m.digest, img.indexDigest);
    const paths = seen.map((r) => r.url.pathname);
    assert.ok(paths.includes("/v2/"), paths.join());
    assert.ok(paths.includes("/token"), paths.join());
    // Two 503s and the success: three attempts at the manifest.
    assert.equal(paths.filter((p) => p === "/v2/s/app/manifests/v1").length, 3, paths.join());
    await c.close();
  });

  it("a per-request layer rewrites the URL before auth and redirects apply (a mirror)", async () => {
    const rewritten: string[] = [];
    const mirror: Layer = (next) => async (req) => {
      if (req.url.host !== "registry.invalid") return next(req);
      const url = new URL(req.url.pathname + req.url.search, reg.url);
      rewritten.push(url.pathname);
      return next({ ...req, url });
    };
    const c = testClient({
      plainHttp: true,
      credentials: { username: "u", password: "p" },
      layers: { perRequest: [mirror] },
    });
    const m = await c.getManifest({ registry: "registry.invalid", repository: "s/app" }, "v1");
    assert.equal(m.digest, img.indexDigest);
    const [blob] = await c.fetchRanges(
      { registry: "registry.invalid", repository: "s/app", digest: img.layerDigest },
      [{ offset: 10, length: 100 }],
    );
    assert.deepEqual(blob, img.layer.subarray(10, 110));
    assert.ok(rewritten.includes("/v2/s/app/manifests/v1"));
    await c.close();
  });

  it("sends through the caller's dispatcher (undici interceptors) and leaves it open", async () => {
    let dispatched = 0;
    const counting: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
      dispatched++;
      return dispatch(opts, handler);
    };
    const agent = new Agent();
    const dispatcher = agent.compose(counting);
    try {
      const c = testClient({ dispatcher, credentials: { username: "u", password: "p" } });
      await c.getManifest(mockRepo(reg, "s/app"), "v1");
      const sent = c.stats().requests;
      await c.close();
      assert.ok(sent > 0);
      assert.equal(dispatched, sent, "every request went through the caller's dispatcher");
      // Still usable: the client did not close what it does not own.
      const again = testClient({ dispatcher, credentials: { username: "u", password: "p" } });
      await again.getManifest(mockRepo(reg, "s/app"), "v1");
      await again.close();
    } finally {
      await agent.close();
    }
  });

  it("a mirror that is down (retries spent) still falls over to the registry", async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const c = testClient({
      credentials: { username: "u", password: "p" },
      retries: { retries: 1, baseDelayMs: 1 },
      mirrors: { [reg.host]: [host] },
    });
    const m = await c.getManifest(mockRepo(reg, "s/app"), "v1");
    assert.equal(m.digest, img.indexDigest);
    await c.close();
  });
});
