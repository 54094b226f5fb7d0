/**
 * What manifests, blobs and ranges share inside one client: the layered `send`, the endpoint
 * list per registry (mirrors first, then the registry itself), the concurrency limit, the
 * storage URLs learned from blob redirects, and the range capabilities per storage origin.
 */
import type { LimitFunction } from "p-limit";
import type { Digest } from "../digest.js";
import { DigestMismatchError } from "../errors.js";
import { repositoryScope } from "./auth/challenge.js";
import type { CapabilityStore } from "./capabilities.js";
import {
  NetworkError,
  NotFoundError,
  RangeIgnoredError,
  RangesFailedError,
  RegistryError,
} from "./errors.js";
import { displayUrl, type HttpResponse, header, isAbortError, type Send } from "./http.js";
import {
  type Endpoint,
  endpointUrl,
  type Lookup,
  originFor,
  type PlainHttpOption,
  Routes,
} from "./mirrors.js";
import { isRetryableNetworkError, type RetryOptions } from "./retry.js";

/** Registry + repository: where manifests and blobs live. `Reference` satisfies it. */
export interface RepositoryRef {
  readonly registry: string;
  readonly repository: string;
}

/** A blob of a repository; `size` (from the descriptor) enables size checks and range bounds. */
export interface BlobRef extends RepositoryRef {
  readonly digest: Digest;
  readonly size?: number;
}

export interface RegistryContext {
  send: Send;
  limit: LimitFunction;
  capabilities: CapabilityStore;
  retry: RetryOptions;
  /** Mirrors, relocations and per-host settings from the options and configuration files. */
  routes: Routes;
  /** Origins to try for a registry, best first (mirrors, then the registry). */
  origins(registry: string): string[];
  /** Signed storage URLs learned from redirects, keyed by origin + repository + digest. */
  storageUrls: Map<string, URL>;
}

export { originFor, type PlainHttpOption };

/** Origins for a registry's content lookups (kept for pushes and callers that want hosts only). */
export function makeOrigins(
  plainHttp: PlainHttpOption | undefined,
  mirrors: Record<string, string[]> | undefined,
): (registry: string) => string[] {
  return originsOf(new Routes({ plainHttp, mirrors }));
}

export function originsOf(routes: Routes): (registry: string) => string[] {
  return (registry) => [
    ...new Set(routes.endpoints(registry, "", "digest").map((ep) => ep.origin)),
  ];
}

export function storageKey(ep: Endpoint, blob: BlobRef): string {
  return `${ep.origin}${ep.apiRoot}/${ep.repository}@${blob.digest}`;
}

/** An insecure registry's unverified TLS attempt, followed by its plain HTTP one. */
function isInsecureFirst(ep: Endpoint, next: Endpoint | undefined): boolean {
  return next !== undefined && !next.mirror && ep.origin.startsWith("https:");
}

/**
 * Is this failure of the registry itself worth trying the next endpoint for? Any transport
 * failure is (refused, reset, timed out, TLS, not HTTP, range requests that kept failing), even
 * once the retry policy has given up on that origin. (Mirrors are passed over on any failure.)
 */
function failsOver(e: unknown): boolean {
  return (
    e instanceof NotFoundError ||
    e instanceof NetworkError ||
    e instanceof RangesFailedError ||
    isRetryableNetworkError(e) ||
    (e instanceof RegistryError && (e.status ?? 0) >= 500)
  );
}

/**
 * Run `attempt` against each endpoint of the repository in turn until one succeeds; the last
 * failure is thrown. A mirror is never trusted: any failure there (404, 5xx, network, wrong
 * digest, refused credentials) moves on to the next endpoint; only an abort stops the walk.
 * `digest` names the content asked for, so mirrors that served it wrong are left out.
 */
export async function withOrigins<T>(
  ctx: RegistryContext,
  repo: RepositoryRef,
  lookup: Lookup,
  digest: string | undefined,
  attempt: (ep: Endpoint) => Promise<T>,
): Promise<T> {
  const endpoints = ctx.routes.endpoints(repo.registry, repo.repository, lookup, digest);
  let lastError: unknown;
  for (let i = 0; i < endpoints.length; i++) {
    const ep = endpoints[i]!;
    if (digest) ctx.routes.noteServed(ep, digest);
    try {
      return await attempt(ep);
    } catch (e) {
      lastError = e;
      // Only the registry's own failures can end the walk early; the registry is last. A
      // whole-blob answer handed over (Range ignored) is this endpoint serving, not failing.
      if (i === endpoints.length - 1 || isAbortError(e) || e instanceof RangeIgnoredError) throw e;
      if (!ep.mirror && !failsOver(e) && !isInsecureFirst(ep, endpoints[i + 1])) throw e;
      if (ep.mirror && (e instanceof NetworkError || isRetryableNetworkError(e)))
        ctx.routes.markDown(ep);
      if (e instanceof DigestMismatchError && digest) ctx.routes.distrust(digest);
    }
  }
  throw lastError;
}

/**
 * GET a blob from one origin. A storage URL learned from an earlier redirect is used directly
 * (no credentials, one round trip less); when it has expired (401/403) the registry URL is asked
 * again for a fresh one.
 */
export async function requestBlob(
  ctx: RegistryContext,
  ep: Endpoint,
  blob: BlobRef,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<HttpResponse> {
  const key = storageKey(ep, blob);
  const cached = ctx.storageUrls.get(key);
  const h = { "accept-encoding": "identity", ...headers };
  if (cached) {
    const res = await ctx.send({
      method: "GET",
      url: cached,
      headers: h,
      signal,
      targetScope: repositoryScope(ep.repository),
      resumable: true,
    });
    if (res.status !== 401 && res.status !== 403) return checkIdentity(res, blob);
    await res.dump();
    ctx.storageUrls.delete(key);
  }
  const url = endpointUrl(ep, `blobs/${blob.digest}`);
  const res = await ctx.send({
    method: "GET",
    url,
    headers: h,
    signal,
    scope: repositoryScope(ep.repository),
    resumable: true,
  });
  if (res.redirected && res.url.origin !== ep.origin && res.status !== 401 && res.status !== 403)
    ctx.storageUrls.set(key, res.url);
  return checkIdentity(res, blob);
}

/** Blob bytes must arrive as stored: a Content-Encoding would change every offset and digest. */
function checkIdentity(res: HttpResponse, blob: BlobRef): HttpResponse {
  const encoding = header(res, "content-encoding")?.trim().toLowerCase();
  if (encoding && encoding !== "identity" && res.status >= 200 && res.status < 300) {
    res.abort();
    throw new RegistryError(
      `blob ${blob.registry}/${blob.repository}@${blob.digest}: ${res.url.host} answered with Content-Encoding ${encoding} despite Accept-Encoding: identity`,
      { status: res.status, url: displayUrl(res.url) },
    );
  }
  return res;
}
