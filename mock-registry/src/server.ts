/**
 * startMockRegistry: the registry origin (distribution API, token server, admin) and the
 * storage origin blob redirects point to, both on node:http.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { digestOf } from "../../src/digest.js";
import { handleAdmin } from "./admin.js";
import { Authenticator, type Need } from "./auth.js";
import { blobSource, handleBlob } from "./blobs.js";
import { type RequestContext, sendError, sleep } from "./http.js";
import { handleCatalog, handleTags } from "./listing.js";
import { handleManifest, storeManifest } from "./manifests.js";
import { ModeTable } from "./modes.js";
import { RedirectSigner, sendStorageError } from "./redirect.js";
import { type Route, route, routeRepo } from "./routes.js";
import { serveBlob } from "./serve-blob.js";
import type { Handling, RegistryState } from "./state.js";
import { StatsRecorder } from "./stats.js";
import { DirStorage } from "./storage/dir.js";
import { MemoryStorage } from "./storage/memory.js";
import type { RegistryStorage } from "./storage/types.js";
import { handleToken } from "./token.js";
import type { MockRegistry, MockRegistryOptions, RequestRecord } from "./types.js";
import { handleUpload } from "./uploads.js";

const KIND: Record<Route["kind"], RequestRecord["kind"]> = {
  ping: "ping",
  catalog: "catalog",
  manifest: "manifest",
  blob: "blob",
  upload: "upload",
  tags: "tags",
  "name-invalid": "other",
  "not-found": "other",
};

function needOf(r: Route, method: string): Need | undefined {
  if (r.kind === "ping") return { kind: "ping" };
  if (r.kind === "catalog") return { kind: "catalog" };
  const repo = routeRepo(r);
  if (repo === undefined) return undefined;
  if (method === "GET" || method === "HEAD") return { kind: "repo", repo, actions: ["pull"] };
  if (method === "DELETE" && r.kind !== "upload")
    return { kind: "repo", repo, actions: ["delete"] };
  return { kind: "repo", repo, actions: ["pull", "push"] };
}

function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

async function openStorage(options: MockRegistryOptions): Promise<RegistryStorage> {
  const s = options.storage ?? { kind: "memory" };
  if (s.kind === "memory") return new MemoryStorage();
  const dir = new DirStorage(s.root);
  await dir.init();
  return dir;
}

function beginContext(
  state: RegistryState,
  req: IncomingMessage,
  res: ServerResponse,
  origin: RequestRecord["origin"],
  kind: RequestRecord["kind"],
  extra: Partial<RequestRecord>,
): RequestContext {
  const url = new URL(req.url ?? "/", "http://mock.invalid");
  const rec = state.stats.begin({
    method: req.method ?? "GET",
    path: url.pathname,
    origin,
    kind,
    authorization: req.headers.authorization !== undefined,
    ...(req.headers.range !== undefined ? { range: req.headers.range } : {}),
    ...extra,
  });
  // "finish" fires before the client can see the end of the body, so a test reading stats
  // right after a response sees it; "close" covers answers that never finished.
  let done = false;
  const finalise = () => {
    if (done) return;
    done = true;
    rec.status = res.statusCode;
    if (!res.writableFinished) rec.aborted = true;
    state.stats.finish(rec);
  };
  res.once("finish", finalise);
  res.once("close", finalise);
  return { req, res, rec, url };
}

async function handleRegistry(
  state: RegistryState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const rawPath = (req.url ?? "/").split("?")[0]!;
  if (rawPath.startsWith("/_mock/")) {
    const url = new URL(req.url ?? "/", "http://mock.invalid");
    const rec = { bytesSent: 0 } as RequestRecord; // admin traffic is not accounted
    return handleAdmin({ req, res, rec, url }, state.modes, state.stats);
  }
  if (rawPath === "/token") {
    const ctx = beginContext(state, req, res, "token", "token", {});
    return handleToken(ctx, state.auth);
  }
  const r = route(rawPath);
  const repo = routeRepo(r);
  const extra: Partial<RequestRecord> = {};
  if (repo !== undefined) extra.repo = repo;
  if (r.kind === "blob") extra.digest = r.digest;
  const ctx = beginContext(state, req, res, "registry", KIND[r.kind], extra);
  res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
  const modes = state.modes.effective(repo);
  if (modes.warning !== null)
    res.setHeader("Warning", `299 - "${modes.warning.replace(/"/g, "'")}"`);
  if (modes.latencyMs > 0) await sleep(modes.latencyMs);
  if (modes.stallHeaders) {
    // Hold the request until the client gives up (no timer: closing the server ends it).
    if (!res.destroyed) await once(res, "close");
    ctx.rec.aborted = true;
    return;
  }

  const stop = state.modes.takeInterruption(repo);
  if (stop?.kind === "429") {
    const retryAfter =
      stop.form === "seconds"
        ? String(stop.retryAfterSeconds)
        : httpDate(Date.now() + stop.retryAfterSeconds * 1000);
    return sendError(
      ctx,
      429,
      "TOOMANYREQUESTS",
      "too many requests (mode tooManyRequests)",
      undefined,
      {
        "Retry-After": retryAfter,
      },
    );
  }
  if (stop?.kind === "5xx") {
    return sendError(ctx, stop.status, "UNAVAILABLE", `server error burst (mode serverErrors)`);
  }
  if (r.kind === "not-found")
    return sendError(ctx, 404, "UNSUPPORTED", `no endpoint for ${rawPath.slice(0, 200)}`);
  if (r.kind === "name-invalid") {
    return sendError(ctx, 400, "NAME_INVALID", "invalid repository name", {
      name: r.repo.slice(0, 300),
    });
  }
  const need = needOf(r, req.method ?? "GET")!;
  const decision = state.auth.authorize(req, need);
  if (!decision.ok) {
    return sendError(
      ctx,
      decision.status,
      decision.code,
      decision.message,
      decision.detail,
      decision.headers,
    );
  }
  const h: Handling = { ctx, state, modes, decision };
  switch (r.kind) {
    case "ping":
      return sendJsonPing(ctx);
    case "catalog":
      return handleCatalog(h);
    case "tags":
      return handleTags(h, r.repo);
    case "manifest":
      return handleManifest(h, r.repo, r.reference);
    case "blob":
      return handleBlob(h, r.repo, r.digest);
    case "upload":
      return handleUpload(h, r.repo, r.id);
  }
}

function sendJsonPing(ctx: RequestContext): void {
  const body = Buffer.from("{}");
  ctx.res.writeHead(200, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": "2",
  });
  ctx.rec.bytesSent += body.length;
  ctx.res.end(ctx.req.method === "HEAD" ? undefined : body);
}

async function handleStorage(
  state: RegistryState,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://mock.invalid");
  const m = /^\/blobs\/([^/]+)$/.exec(url.pathname);
  const digest = m?.[1];
  const repo = url.searchParams.get("repo") ?? undefined;
  const extra: Partial<RequestRecord> = {};
  if (digest) extra.digest = digest;
  if (repo) extra.repo = repo;
  const ctx = beginContext(state, req, res, "storage", "blob", extra);
  if (!digest) return sendStorageError(ctx, 404, "NoSuchKey", "The specified key does not exist.");
  if (req.headers.authorization !== undefined) {
    return sendStorageError(
      ctx,
      400,
      "InvalidArgument",
      "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
    );
  }
  if (req.method !== "GET") {
    return sendStorageError(ctx, 403, "SignatureDoesNotMatch", "The URL is signed for GET only.");
  }
  const check = state.redirect.check(digest, url.searchParams);
  if (!check.ok) {
    return check.reason === "expired"
      ? sendStorageError(ctx, 403, "AccessDenied", "Request has expired")
      : sendStorageError(
          ctx,
          403,
          "SignatureDoesNotMatch",
          "The request signature does not match.",
        );
  }
  const modes = state.modes.effective(check.repo);
  if (modes.latencyMs > 0) await sleep(modes.latencyMs);
  const blob = await blobSource(state, digest);
  if (!blob) return sendStorageError(ctx, 404, "NoSuchKey", "The specified key does not exist.");
  await serveBlob(ctx, blob, modes);
}

function guard(
  fn: (state: RegistryState, req: IncomingMessage, res: ServerResponse) => Promise<void>,
  state: RegistryState,
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    fn(state, req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        const body = JSON.stringify({
          errors: [{ code: "UNKNOWN", message: String((err as Error)?.message ?? err) }],
        });
        res.writeHead(500, { "Content-Type": "application/json; charset=utf-8" });
        res.end(body);
      } else {
        res.destroy();
      }
    });
  };
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host);
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

export async function startMockRegistry(options: MockRegistryOptions = {}): Promise<MockRegistry> {
  const host = options.host ?? "127.0.0.1";
  const storage = await openStorage(options);
  const state: RegistryState = {
    storage,
    modes: new ModeTable(options.modes),
    stats: new StatsRecorder(options.maxRequestRecords),
    auth: new Authenticator(options.auth),
    uploads: new Map(),
    maxUploadBytes: options.maxUploadBytes ?? 2 * 1024 ** 3,
    maxManifestBytes: options.maxManifestBytes ?? 4 * 1024 ** 2,
    redirect: new RedirectSigner(),
  };
  const registry = createServer(guard(handleRegistry, state));
  const storageServer = createServer(guard(handleStorage, state));
  const port = await listen(registry, options.port ?? 0, host);
  const storagePort = await listen(storageServer, 0, host);
  const hostPort = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const storageHost = host.includes(":") ? `[${host}]:${storagePort}` : `${host}:${storagePort}`;
  const url = `http://${hostPort}`;
  state.auth.realm = `${url}/token`;
  state.redirect.baseUrl = `http://${storageHost}`;

  return {
    url,
    host: hostPort,
    storageUrl: state.redirect.baseUrl,
    setModes: (modes, repo) => state.modes.set(modes, repo),
    clearModes: (repo) => state.modes.clear(repo),
    stats: () => state.stats.snapshot(),
    resetStats: () => state.stats.reset(),
    async putBlob(repo, data) {
      const digest = digestOf(data);
      const upload = await storage.newUpload(repo);
      await upload.write(data);
      const result = await upload.commit(digest);
      if (!result.ok) throw new Error(`putBlob: digest changed while storing (${result.actual})`);
      await storage.linkBlob(repo, digest);
      return digest;
    },
    async putManifest(repo, reference, body, mediaType) {
      const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
      return storeManifest(state, repo, reference, bytes, mediaType);
    },
    async close() {
      for (const u of state.uploads.values()) await u.abort();
      state.uploads.clear();
      const closing = [registry, storageServer].map((s) => {
        const done = once(s, "close");
        s.close();
        s.closeAllConnections();
        return done;
      });
      await Promise.all(closing);
      await storage.close();
    },
  };
}
