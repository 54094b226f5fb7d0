/**
 * The request/response shapes every HTTP layer speaks. A layer wraps a `Send` function the way
 * undici's interceptors wrap `dispatch` (and go-containerregistry wraps a RoundTripper); the
 * client composes transport -> retry -> redirect -> auth, and callers may add their own.
 */
export type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface HttpRequest {
  method: Method;
  url: URL;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Small, replayable bodies only (manifests, token forms, monolithic uploads). */
  body?: Buffer | string;
  signal?: AbortSignal;
  /** Registry auth scope (`repository:<name>:pull`). Only requests with a scope get credentials. */
  scope?: string;
  /**
   * For requests straight to a redirect target (a cached storage URL): the registry scope the
   * URL was obtained for. The target gets no registry credentials, but if it challenges, the
   * auth layer answers with the target's own (usually anonymous) token.
   */
  targetScope?: string;
  /** "manual" returns 3xx answers instead of following them. */
  redirect?: "follow" | "manual";
  /** Do not retry on 5xx/429 (the caller handles the status itself). */
  noStatusRetry?: boolean;
  /**
   * The resource cannot change (a blob by digest): a body cut off midway may be continued with
   * a Range request for the rest (resume.ts).
   */
  resumable?: boolean;
}

export interface HttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string | string[] | undefined>;
  /** The URL that answered (after redirects). */
  url: URL;
  /** Whether a redirect was followed to reach `url`. */
  redirected: boolean;
  /** Body chunks, counted by the transport; iterate at most once. Breaking out closes the connection. */
  body: AsyncIterable<Buffer>;
  /** Read the whole body, failing past `limit` bytes. */
  bytes(limit: number): Promise<Buffer>;
  /** Read and drop a small body so the connection can be reused (closes it if the body is large). */
  dump(): Promise<void>;
  /** Stop receiving at once (closes the connection). */
  abort(): void;
}

export type Send = (req: HttpRequest) => Promise<HttpResponse>;
/** One layer of the stack: given the layer below, returns the function that calls it. */
export type Layer = (next: Send) => Send;

/**
 * Stack layers on `send` in order, like undici's `dispatcher.compose(...)`: the first layer
 * wraps `send` directly, the last one is outermost (called first).
 */
export function compose(send: Send, ...layers: Layer[]): Send {
  return layers.reduce((inner, layer) => layer(inner), send);
}

export function header(
  res: { headers: Record<string, string | string[] | undefined> },
  name: string,
): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

export function headerList(
  res: { headers: Record<string, string | string[] | undefined> },
  name: string,
): string[] {
  const v = res.headers[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

export function isAbortError(e: unknown): boolean {
  return (
    e instanceof Error && (e.name === "AbortError" || (e as { code?: string }).code === "ABORT_ERR")
  );
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A URL fit for error messages: no query (signed storage URLs carry credentials there), no userinfo. */
export function displayUrl(u: URL): string {
  return u.origin + u.pathname;
}
