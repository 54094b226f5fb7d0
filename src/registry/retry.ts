/**
 * The one retry policy of the client: which failures are worth another attempt, how long to
 * wait (exponential backoff with full jitter, Retry-After honoured up to a limit) and when to
 * stop (RetryBudget). The retry layer applies it to whole requests; the blob resume (blobs.ts)
 * and the range engine (ranges.ts) apply the same budget to bodies cut off midway, where
 * progress restarts the count of consecutive failures but never the time budget, so a server
 * that keeps stalling after a few bytes cannot keep a pull alive forever.
 */
import { NetworkError, ProtocolError, TimeoutError, TlsError } from "./errors.js";
import { type HttpResponse, header, isAbortError, type Layer, sleep } from "./http.js";

export interface RetryOptions {
  /** Consecutive failed attempts without progress before giving up (default 4). */
  retries?: number;
  /**
   * Time one operation may lose to failed attempts (from its last progress to the failure:
   * stalls, timeouts, resets; backoff sleeps not included) before giving up (default 40 s).
   */
  maxRetryTimeMs?: number;
  /** Attempts of one operation in all, with progress or not (default 1000). */
  maxAttempts?: number;
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

/** Errors whose retry budget is already spent: an outer loop must not retry them again. */
const spent = new WeakSet<object>();

/** The retry policy already gave up on this error once (a layer below ran out of budget). */
export function isRetrySpent(e: unknown): boolean {
  return typeof e === "object" && e !== null && spent.has(e);
}

/** True for transient transport failures worth another attempt. */
export function isRetryableNetworkError(e: unknown): boolean {
  if (isAbortError(e) || isRetrySpent(e)) return false;
  // Our verdicts that another attempt cannot change: a body far too slow, the overall deadline,
  // TLS to a plain-HTTP server or an untrusted certificate, a server that does not speak HTTP.
  if (e instanceof TimeoutError && (e.kind === "throughput" || e.kind === "total")) return false;
  if (e instanceof TlsError || e instanceof ProtocolError) return false;
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

export const DEFAULT_RETRIES = 4;
export const DEFAULT_MAX_RETRY_TIME_MS = 40_000;
export const DEFAULT_MAX_ATTEMPTS = 1000;
/** Bytes an attempt must deliver before its failure stops counting as consecutive. */
const PROGRESS_BYTES = 64 * 1024;

/**
 * The stop rule of one operation (a request, a blob download, a range job): at most `retries`
 * consecutive failures without progress, at most `maxAttempts` attempts in all, and at most
 * `maxRetryTimeMs` lost to failures in all.
 */
export class RetryBudget {
  private consecutive = 0;
  private attempts = 0;
  /** Bytes since the last failure: a trickle of a few bytes per attempt is not progress. */
  private gained = 0;
  private lostMs = 0;
  private since: number;

  constructor(
    private readonly o: RetryOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
  }

  /** An attempt starts: time lost from here on is charged to it. */
  start(): void {
    this.since = this.now();
  }

  /**
   * Bytes arrived (a finished piece: no argument). Time lost is counted from here; once an
   * attempt has gained PROGRESS_BYTES (or finished a piece), the next failure starts a fresh
   * consecutive count.
   */
  progress(bytes = Number.POSITIVE_INFINITY): void {
    this.since = this.now();
    this.gained += bytes;
    if (this.gained >= PROGRESS_BYTES) this.consecutive = 0;
  }

  /** A retryable failure: the backoff before the next attempt, or undefined when spent. */
  failure(): number | undefined {
    this.lostMs += Math.max(0, this.now() - this.since);
    this.gained = 0;
    this.consecutive++;
    this.attempts++;
    if (
      this.consecutive > (this.o.retries ?? DEFAULT_RETRIES) ||
      this.attempts >= (this.o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS) ||
      this.lostMs >= (this.o.maxRetryTimeMs ?? DEFAULT_MAX_RETRY_TIME_MS)
    )
      return undefined;
    return backoffDelay(this.consecutive - 1, this.o);
  }

  /** For messages: `3 attempts, 41 s lost`. */
  describe(): string {
    return `${this.attempts} failed attempt(s), ${Math.round(this.lostMs / 1000)} s lost`;
  }
}

export function retryLayer(options: RetryOptions = {}): Layer {
  const maxRetryAfter = options.maxRetryAfterMs ?? 60_000;
  return (next) => async (req) => {
    const budget = new RetryBudget(options);
    for (;;) {
      let res: HttpResponse;
      budget.start();
      try {
        res = await next(req);
      } catch (e) {
        if (!isRetryableNetworkError(e)) throw e;
        const delay = budget.failure();
        if (delay === undefined) throw exhausted(e, budget);
        await sleep(delay, req.signal);
        continue;
      }
      if (req.noStatusRetry || !RETRY_STATUSES.has(res.status)) return res;
      let delay = budget.failure();
      if (delay === undefined) return res;
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

/** The last failure, kept typed (the transport already named the URL), noting that retries ran out. */
export function exhausted(e: unknown, budget: RetryBudget): unknown {
  if (!(e instanceof NetworkError)) return e;
  const message = `${e.message} (gave up after ${budget.describe()})`;
  const details = { url: e.url, cause: e };
  const out =
    e instanceof TimeoutError
      ? new TimeoutError(message, { ...details, kind: e.kind })
      : new NetworkError(message, { ...details, code: e.code });
  spent.add(out);
  return out;
}
