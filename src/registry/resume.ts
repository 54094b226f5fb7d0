/**
 * Body resume, the outermost part of the retry policy: the body of a content-addressed GET
 * (`resumable`: blobs, whose bytes cannot change) that breaks midway is continued with a new
 * request for the missing bytes only (`Range: bytes=N-` or `bytes=N-END`), sent through the
 * whole stack again so auth and redirects are redone. A 206 must start exactly at N; a 200 (the
 * server ignored Range) is skipped up to N and cut at the window's end. Multipart answers are
 * not resumed here: the range engine re-asks their missing ranges. Attempts are bounded by the
 * same RetryBudget as every other retry; progress restarts the consecutive count only.
 */
import { LimitExceededError } from "../errors.js";
import { RangeResponseError } from "./errors.js";
import {
  displayUrl,
  type HttpRequest,
  type HttpResponse,
  header,
  type Layer,
  type Send,
  sleep,
} from "./http.js";
import { multipartBoundary, parseContentRange } from "./multipart.js";
import { exhausted, isRetryableNetworkError, RetryBudget, type RetryOptions } from "./retry.js";
import { responseError } from "./status-errors.js";

/** Where a body sits in the resource: from `start`, up to `end` inclusive (undefined: to the end). */
interface Window {
  start: number;
  end: number | undefined;
}

function windowOf(res: HttpResponse): Window | undefined {
  if (res.status === 200) return { start: 0, end: undefined };
  if (res.status !== 206 || multipartBoundary(header(res, "content-type")) !== undefined)
    return undefined;
  try {
    const cr = parseContentRange(header(res, "content-range"));
    return { start: cr.start, end: cr.end };
  } catch {
    return undefined; // the caller reports the bad header
  }
}

export function resumeLayer(options: RetryOptions = {}): Layer {
  return (next) => async (req) => {
    const res = await next(req);
    if (!req.resumable || req.method !== "GET") return res;
    const window = windowOf(res);
    if (!window) return res;
    return withResumingBody(res, next, req, window, options);
  };
}

function withResumingBody(
  first: HttpResponse,
  next: Send,
  req: HttpRequest,
  window: Window,
  options: RetryOptions,
): HttpResponse {
  let current = first;
  let used = false;
  async function* chunks(): AsyncGenerator<Buffer> {
    if (used) throw new Error(`response body of ${displayUrl(req.url)} read twice`);
    used = true;
    const budget = new RetryBudget(options);
    let delivered = 0;
    let skip = 0; // bytes of a 200 answer before the resume point
    let cap: number | undefined; // bytes still wanted from a 200 answer to a windowed resume
    for (;;) {
      try {
        for await (let chunk of current.body) {
          if (skip > 0) {
            const n = Math.min(skip, chunk.length);
            skip -= n;
            chunk = chunk.subarray(n);
          }
          if (cap !== undefined) chunk = chunk.subarray(0, cap);
          if (chunk.length === 0) continue;
          if (cap !== undefined) cap -= chunk.length;
          delivered += chunk.length;
          budget.progress(chunk.length);
          yield chunk;
          if (cap === 0) return; // leaving the loop closes the rest of the whole body
        }
        if (skip > 0)
          throw new RangeResponseError(
            `${displayUrl(req.url)}: restarted body ended before the resume point`,
          );
        return;
      } catch (e) {
        if (!isRetryableNetworkError(e) || req.signal?.aborted) throw e;
        const delay = budget.failure();
        if (delay === undefined) throw exhausted(e, budget);
        await sleep(delay, req.signal);
      }
      budget.start();
      const from = window.start + delivered;
      const range = `bytes=${from}-${window.end ?? ""}`;
      current = await next({ ...req, headers: { ...req.headers, range } });
      ({ skip, cap } = await checkResume(current, req, from, window));
    }
  }
  const body = chunks();
  return {
    ...first,
    body,
    async bytes(limit: number) {
      const parts: Buffer[] = [];
      let total = 0;
      for await (const c of body) {
        total += c.length;
        if (total > limit) {
          current.abort();
          throw new LimitExceededError(
            `response from ${displayUrl(req.url)} is larger than ${limit} bytes`,
          );
        }
        parts.push(c);
      }
      return Buffer.concat(parts, total);
    },
    dump: () => (used ? Promise.resolve() : first.dump()),
    abort() {
      used = true;
      current.abort();
    },
  };
}

/** Accept a resume answer (206 at exactly `from`, or 200 to skip into); anything else fails. */
async function checkResume(
  res: HttpResponse,
  req: HttpRequest,
  from: number,
  window: Window,
): Promise<{ skip: number; cap: number | undefined }> {
  const where = `${displayUrl(res.url)} (resume at byte ${from})`;
  if (res.status === 200) {
    return { skip: from, cap: window.end === undefined ? undefined : window.end - from + 1 };
  }
  if (res.status !== 206) throw await responseError(res, where);
  const got = windowOf(res);
  if (!got || got.start !== from || (window.end !== undefined && got.end !== window.end)) {
    res.abort();
    throw new RangeResponseError(
      `${where}: answered with ${header(res, "content-range") ?? "no Content-Range"} for ${req.method} bytes=${from}-${window.end ?? ""}`,
      { status: 206, url: displayUrl(res.url) },
    );
  }
  return { skip: 0, cap: undefined };
}
