/**
 * What manifests, blobs and ranges share inside one client: the layered `send`, the endpoint
 * list per registry (mirrors first, then the registry itself), the concurrency limit, the
 * storage URLs learned from blob redirects, and the range capabilities per storage origin.
 */
import type { LimitFunction } from "p-limit";
import type { Digest } from "../digest.js";
import { isLoopbackHost, normalizeRegistry, registryEndpoint } from "../reference.js";
import { repositoryScope } from "./auth/challenge.js";
import type { CapabilityStore } from "./capabilities.js";
import { NetworkError, NotFoundError, RangesFailedError, RegistryError } from "./errors.js";
import { displayUrl, type HttpResponse, header, type Send } from "./http.js";
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
  /** Origins to try for a registry, best first (mirrors, then the registry). */
  origins(registry: string): string[];
  /** Signed storage URLs learned from redirects, keyed by origin + repository + digest. */
  storageUrls: Map<string, URL>;
}

export type PlainHttpOption = boolean | ((host: string) => boolean);

/** `http://` or `https://` for a host: explicit option, else plain HTTP for loopback registries only. */
export function originFor(hostOrUrl: string, plainHttp: PlainHttpOption | undefined): string {
  if (/^https?:\/\//.test(hostOrUrl)) return new URL(hostOrUrl).origin;
  const plain =
    typeof plainHttp === "function"
      ? plainHttp(hostOrUrl)
      : (plainHttp ?? isLoopbackHost(hostOrUrl));
  return `${plain ? "http" : "https"}://${hostOrUrl}`;
}

export function makeOrigins(
  plainHttp: PlainHttpOption | undefined,
  mirrors: Record<string, string[]> | undefined,
): (registry: string) => string[] {
  const normalized = new Map<string, string[]>();
  for (const [k, v] of Object.entries(mirrors ?? {})) normalized.set(normalizeRegistry(k), v);
  return (registry) => {
    const r = normalizeRegistry(registry);
    const list = (normalized.get(r) ?? []).map((m) => originFor(m, plainHttp));
    list.push(originFor(registryEndpoint(r), plainHttp));
    return [...new Set(list)];
  };
}

function storageKey(origin: string, blob: BlobRef): string {
  return `${origin}/${blob.repository}@${blob.digest}`;
}

/**
 * Is this failure worth trying the next mirror for? Any transport failure is (refused, reset,
 * timed out, TLS, not HTTP, range requests that kept failing), even once the retry policy has
 * given up on that origin.
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
 * Run `attempt` against each origin of the registry in turn until one succeeds; the last
 * failure is thrown. Mirrors are skipped on 404, 5xx and network errors.
 */
export async function withOrigins<T>(
  ctx: RegistryContext,
  registry: string,
  attempt: (origin: string) => Promise<T>,
): Promise<T> {
  const origins = ctx.origins(registry);
  let lastError: unknown;
  for (let i = 0; i < origins.length; i++) {
    try {
      return await attempt(origins[i]!);
    } catch (e) {
      lastError = e;
      if (i === origins.length - 1 || !failsOver(e)) throw e;
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
  origin: string,
  blob: BlobRef,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<HttpResponse> {
  const key = storageKey(origin, blob);
  const cached = ctx.storageUrls.get(key);
  const h = { "accept-encoding": "identity", ...headers };
  if (cached) {
    const res = await ctx.send({
      method: "GET",
      url: cached,
      headers: h,
      signal,
      targetScope: repositoryScope(blob.repository),
      resumable: true,
    });
    if (res.status !== 401 && res.status !== 403) return checkIdentity(res, blob);
    await res.dump();
    ctx.storageUrls.delete(key);
  }
  const url = new URL(`/v2/${blob.repository}/blobs/${blob.digest}`, origin);
  const res = await ctx.send({
    method: "GET",
    url,
    headers: h,
    signal,
    scope: repositoryScope(blob.repository),
    resumable: true,
  });
  if (res.redirected && res.url.origin !== origin && res.status !== 401 && res.status !== 403)
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
