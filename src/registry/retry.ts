/**
 * Retry layer: exponential backoff with full jitter on network errors, 408/429 and 5xx.
 * Honours Retry-After (delay-seconds or HTTP-date) up to a user limit; a longer wait is not
 * slept through but handed back as the final answer (RateLimitedError upstream).
 */
import { NetworkError } from "./errors.js";
import { displayUrl, type HttpResponse, header, isAbortError, type Layer, sleep } from "./http.js";

export interface RetryOptions {
  /** Retries after the first attempt (default 4). */
  retries?: number;
  /** First backoff step in ms (default 200). */
  baseDelayMs?: number;
  /** Cap of one backoff step in ms (default 10 s). */
  maxDelayMs?: number;
  /** Longest Retry-After we are willing to wait (default 60 s). */
  maxRetryAfterMs?: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

const RETRY_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/** True for transient transport failures worth another attempt. */
export function isRetryableNetworkError(e: unknown): boolean {
  if (isAbortError(e)) return false;
  for (let cur: unknown = e; cur instanceof Error; cur = (cur as { cause?: unknown }).cause) {
    const code = (cur as { code?: string }).code;
    if (code && RETRY_NETWORK_CODES.has(code)) return true;
    if (cur.message === "terminated" || cur.message === "other side closed") return true;
  }
  return false;
}

/** Parse Retry-After: delay-seconds or an HTTP-date; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const when = Date.parse(v);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, when - now);
}

/** Full-jitter exponential backoff for attempt n (0-based). */
export function backoffDelay(attempt: number, o: RetryOptions = {}): number {
  const base = o.baseDelayMs ?? 200;
  const cap = o.maxDelayMs ?? 10_000;
  const step = Math.min(cap, base * 2 ** attempt);
  return Math.round(step / 2 + (o.random ?? Math.random)() * (step / 2));
}

export function retryLayer(options: RetryOptions = {}): Layer {
  const retries = options.retries ?? 4;
  const maxRetryAfter = options.maxRetryAfterMs ?? 60_000;
  return (next) => async (req) => {
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await next(req);
      } catch (e) {
        if (attempt < retries && isRetryableNetworkError(e)) {
          await sleep(backoffDelay(attempt, options), req.signal);
          continue;
        }
        if (isAbortError(e) || !isRetryableNetworkError(e)) throw e;
        throw new NetworkError(
          `${req.method} ${req.url.origin}${req.url.pathname}: ${(e as Error).message}`,
          {
            url: displayUrl(req.url),
            cause: e,
          },
        );
      }
      if (req.noStatusRetry || !RETRY_STATUSES.has(res.status) || attempt >= retries) return res;
      let delay = backoffDelay(attempt, options);
      const retryAfter = parseRetryAfter(header(res, "retry-after"));
      if (retryAfter !== undefined) {
        if (retryAfter > maxRetryAfter) return res;
        delay = Math.max(delay, retryAfter);
      }
      await res.dump();
      await sleep(delay, req.signal);
    }
  };
}
