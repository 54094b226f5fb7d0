/**
 * The range engine: delivers exactly the requested byte ranges of a blob, whatever the server
 * does with them. Many ranges go in one request while the storage origin supports it; answers
 * are mapped by Content-Range (never by order). A 200 to a multi-range request is cut off at
 * once and the origin switched to single ranges; 400/416/501 halve the ranges per request down
 * to parallel single ranges; a 200 to a single range means Range is ignored: one whole-body GET
 * then serves every range. What an origin can do is remembered (capabilities.ts).
 *
 * A range cut off midway keeps what arrived: the next request asks only for its remainder, and
 * ranges already delivered are never asked again. Attempts are bounded by the client's retry
 * policy (retry.ts RetryBudget); when resets exhaust it the job ends with RangesFailedError, the
 * signal for the pull engine to fall back to a full, resumable download. Timeouts end it with
 * the TimeoutError itself: a stalled server would stall the full download just the same.
 */

import { FormatError } from "../errors.js";
import type { ByteRange } from "../formats/layer-index.js";
import { blobSubject } from "./blobs.js";
import { type BlobRef, type RegistryContext, requestBlob, withOrigins } from "./context.js";
import {
  RangeNotSatisfiableError,
  RangeResponseError,
  RangesFailedError,
  TimeoutError,
} from "./errors.js";
import { displayUrl, type HttpResponse, header, isAbortError, sleep } from "./http.js";
import {
  type ContentRange,
  MultipartByteRangesParser,
  multipartBoundary,
  parseContentRange,
} from "./multipart.js";
import { RangeCollector, type Target } from "./range-collector.js";
import { exhausted, isRetryableNetworkError, isRetrySpent, RetryBudget } from "./retry.js";
import { responseError } from "./status-errors.js";

export type RangeCallback = (index: number, data: Buffer) => void | Promise<void>;

export interface FetchRangesOptions {
  signal?: AbortSignal;
}

/** Sorted, non-overlapping, non-negative integer ranges inside the blob; throws RangeNotSatisfiableError. */
export function validateRanges(
  ranges: readonly ByteRange[],
  size: number | undefined,
  subject: string,
): void {
  let prevEnd = 0;
  ranges.forEach((r, i) => {
    if (
      !Number.isSafeInteger(r.offset) ||
      !Number.isSafeInteger(r.length) ||
      r.offset < 0 ||
      r.length < 0
    ) {
      throw new RangeNotSatisfiableError(
        `${subject}: range ${i} {offset: ${r.offset}, length: ${r.length}} is not a pair of non-negative integers`,
      );
    }
    if (i > 0 && r.offset < prevEnd) {
      throw new RangeNotSatisfiableError(
        `${subject}: range ${i} at ${r.offset} overlaps or precedes the previous range ending at ${prevEnd} (ranges must be sorted and disjoint)`,
      );
    }
    if (size !== undefined && r.offset + r.length > size) {
      throw new RangeNotSatisfiableError(
        `${subject}: range ${i} [${r.offset}, ${r.offset + r.length}) ends past the blob size ${size}`,
      );
    }
    prevEnd = r.offset + r.length;
  });
}

function rangeHeader(ranges: ByteRange[]): string {
  return `bytes=${ranges.map((r) => `${r.offset}-${r.offset + r.length - 1}`).join(",")}`;
}

class RangeJob {
  readonly missing = new Set<number>();
  /** Ranges partly received by a broken answer: resumed from their first missing byte. */
  private readonly started = new Map<number, Target>();
  private budget: RetryBudget;
  readonly subject: string;
  /** Aborts sibling requests of the current run when one of them fails for good. */
  private controller = new AbortController();
  signal: AbortSignal;
  private readonly userSignal: AbortSignal | undefined;
  /** The first failure that ends the job (not a retryable network error). */
  private fatal: unknown;

  constructor(
    readonly ctx: RegistryContext,
    readonly blob: BlobRef,
    readonly ranges: readonly ByteRange[],
    private readonly onRange: RangeCallback,
    userSignal: AbortSignal | undefined,
  ) {
    this.subject = blobSubject(blob);
    this.budget = new RetryBudget(ctx.retry);
    this.userSignal = userSignal;
    this.signal = this.linkSignal();
    ranges.forEach((r, i) => {
      if (r.length > 0) this.missing.add(i);
    });
  }

  private linkSignal(): AbortSignal {
    return this.userSignal
      ? AbortSignal.any([this.userSignal, this.controller.signal])
      : this.controller.signal;
  }

  async deliver(targets: Target[]): Promise<void> {
    for (const t of targets) {
      this.started.delete(t.index);
      if (!this.missing.delete(t.index)) continue; // delivered already by an overlapping answer
      this.budget.progress();
      await this.onRange(t.index, t.buf);
    }
  }

  /** Body bytes arrived: the server is alive (retry.ts counts time lost from the last byte). */
  received(n: number): void {
    if (n > 0) this.budget.progress(n);
  }

  /** The still-missing part of range `i` (all of it unless a broken answer delivered a prefix). */
  remainder(i: number): ByteRange {
    const r = this.ranges[i]!;
    const filled = this.started.get(i)?.filled ?? 0;
    return { offset: r.offset + filled, length: r.length - filled };
  }

  /** The target collecting range `i`, kept across attempts so a resumed range continues it. */
  target(i: number): Target {
    let t = this.started.get(i);
    if (!t) {
      const range = this.ranges[i]!;
      t = { index: i, range, buf: Buffer.allocUnsafe(range.length), filled: 0 };
      this.started.set(i, t);
    }
    return t;
  }

  /** Requested, still-missing ranges whose remainder lies fully inside [start, end]. */
  contained(batch: number[], start: number, end: number): Target[] {
    return batch
      .filter((i) => this.missing.has(i))
      .filter((i) => {
        const rest = this.remainder(i);
        return rest.offset >= start && rest.offset + rest.length - 1 <= end;
      })
      .map((i) => this.target(i));
  }

  /** Bytes held in partly received ranges (progress that delivered no whole range yet). */
  private partialBytes(): number {
    let n = 0;
    for (const t of this.started.values()) n += t.filled;
    return n;
  }

  storageOrigin(origin: string): string {
    const cached = this.ctx.storageUrls.get(
      `${origin}/${this.blob.repository}@${this.blob.digest}`,
    );
    return cached ? cached.origin : origin;
  }

  async run(origin: string): Promise<void> {
    // Each origin (mirror, then registry) gets a fresh controller: a failure on a mirror must
    // not abort the requests to the next origin.
    this.controller = new AbortController();
    this.signal = this.linkSignal();
    this.fatal = undefined;
    this.budget = new RetryBudget(this.ctx.retry);
    let lastError: unknown;
    while (this.missing.size > 0) {
      const before = this.missing.size;
      const partialBefore = this.partialBytes();
      const capKey = this.storageOrigin(origin);
      const cap = this.ctx.capabilities.get(capKey);
      const capBefore = JSON.stringify(cap);
      const pending = [...this.missing].sort((a, b) => a - b);
      // Batches record their failures instead of rejecting; the first fatal one aborts its
      // siblings at once so no request keeps running unobserved.
      const failed: unknown[] = [];
      const record = (e: unknown) => {
        failed.push(e);
        if (this.fatal === undefined && (isAbortError(e) || !isRetryableNetworkError(e))) {
          // A request or body whose retries ran out below ends the job the same way ours do.
          this.fatal = isRetrySpent(e) ? this.giveUp(e) : e;
          this.controller.abort(this.fatal);
        }
      };
      this.budget.start();
      if (cap.mode === "none") {
        await this.ctx.limit(() => this.wholeBody(origin, pending).catch(record));
      } else {
        const per = cap.mode === "single" ? 1 : Math.max(1, cap.maxRanges);
        const batches: number[][] = [];
        // Before fanning out single ranges, probe with one: a server that answered the
        // multi-range request with 200 may ignore Range altogether, and then one GET serves all.
        const probeOnly = cap.mode === "single" && !cap.singleConfirmed;
        for (let i = 0; i < pending.length && !(probeOnly && i > 0); i += per) {
          batches.push(pending.slice(i, i + per));
        }
        await Promise.all(
          batches.map((b) =>
            this.ctx.limit(() =>
              this.fatal === undefined ? this.batch(origin, b).catch(record) : undefined,
            ),
          ),
        );
      }
      if (this.fatal !== undefined) throw this.fatal;
      if (failed.length > 0) lastError = failed[0];
      const progressed =
        this.missing.size < before ||
        this.partialBytes() > partialBefore ||
        JSON.stringify(this.ctx.capabilities.get(this.storageOrigin(origin))) !== capBefore;
      if (progressed && failed.length === 0) continue;
      // A round with failures, or one that delivered nothing: charged to the retry budget
      // (consecutive count, attempts, time since the last byte arrived).
      const delay = this.budget.failure();
      if (delay === undefined) throw this.giveUp(lastError);
      if (failed.length > 0) await sleep(delay, this.signal);
    }
  }

  /** The error that ends a job whose retry budget is spent. */
  private giveUp(lastError: unknown): unknown {
    // A stalled or timed-out server would stall a full download too: report the timeout.
    if (lastError instanceof TimeoutError)
      return isRetrySpent(lastError) ? lastError : exhausted(lastError, this.budget);
    if (lastError) {
      const spent = isRetrySpent(lastError) ? "" : ` (${this.budget.describe()})`;
      return new RangesFailedError(
        `${this.subject}: range requests kept failing${spent}: ${(lastError as Error).message}`,
        { cause: lastError },
      );
    }
    return new RangeResponseError(
      `${this.subject}: the server did not deliver ${this.missing.size} requested range(s) (${this.budget.describe()})`,
    );
  }

  /** One request for `batch` (indices into ranges). Throws on fatal answers; network errors propagate as retryable. */
  private async batch(origin: string, batch: number[]): Promise<void> {
    // A range cut off earlier is asked only for its remainder.
    const ranges = batch.map((i) => this.remainder(i));
    const res = await requestBlob(
      this.ctx,
      origin,
      this.blob,
      { range: rangeHeader(ranges) },
      this.signal,
    );
    const storage = res.url.origin;
    switch (res.status) {
      case 206:
        if (batch.length === 1) this.ctx.capabilities.confirmSingle(storage);
        return this.partial(res, batch);
      case 200:
        if (batch.length > 1) {
          res.abort(); // the whole blob is coming: do not download it
          this.ctx.capabilities.singleOnly(storage);
          return;
        }
        this.ctx.capabilities.ignoresRange(storage);
        return this.collectWholeBody(res, batch);
      case 400:
      case 416:
      case 501:
        if (batch.length > 1) {
          await res.dump();
          this.ctx.capabilities.refuseMulti(storage, batch.length);
          return;
        }
        if (res.status === 416) {
          await res.dump();
          throw new RangeNotSatisfiableError(
            `${this.subject}: server says range ${ranges[0]!.offset}-${ranges[0]!.offset + ranges[0]!.length - 1} is not satisfiable (${header(res, "content-range") ?? "no Content-Range"})`,
          );
        }
        throw await responseError(res, `${this.subject} range request`);
      default:
        throw await responseError(res, `${this.subject} range request`);
    }
  }

  private checkTotal(cr: ContentRange, res: HttpResponse): void {
    if (cr.total !== undefined && this.blob.size !== undefined && cr.total !== this.blob.size) {
      res.abort();
      throw new RangeResponseError(
        `${this.subject}: Content-Range says the blob has ${cr.total} bytes, the descriptor says ${this.blob.size}`,
        {
          status: res.status,
          url: displayUrl(res.url),
        },
      );
    }
  }

  private async partial(res: HttpResponse, batch: number[]): Promise<void> {
    const boundary = multipartBoundary(header(res, "content-type"));
    if (boundary === undefined) {
      const cr = parseContentRange(
        header(res, "content-range"),
        `${this.subject} 206 Content-Range`,
      );
      this.checkTotal(cr, res);
      const inside = this.contained(batch, cr.start, cr.end);
      if (inside.length === 0) {
        res.abort();
        throw new RangeResponseError(
          `${this.subject}: asked for ${rangeHeader(batch.map((i) => this.remainder(i)))}, got bytes ${cr.start}-${cr.end}`,
          {
            status: 206,
            url: displayUrl(res.url),
          },
        );
      }
      // A server that answers a multi-range request with only some of the ranges (first-only)
      // will do so again: ask it for one range at a time from now on.
      if (batch.length > 1 && inside.length < batch.length)
        this.ctx.capabilities.singleOnly(res.url.origin);
      const collector = new RangeCollector(cr.start, inside);
      for await (const chunk of res.body) {
        this.received(chunk.length);
        await this.deliver(collector.write(chunk));
      }
      if (collector.position !== cr.end + 1) {
        throw new RangeResponseError(
          `${this.subject}: 206 body has ${collector.position - cr.start} bytes, Content-Range says ${cr.end - cr.start + 1}`,
        );
      }
      return;
    }
    let collector: RangeCollector | undefined;
    let part: ContentRange | undefined;
    const queue: Target[] = [];
    const parser = new MultipartByteRangesParser(boundary, {
      partStart: (range) => {
        this.checkTotal(range, res);
        part = range;
        collector = new RangeCollector(range.start, this.contained(batch, range.start, range.end));
      },
      partData: (data) => {
        queue.push(...collector!.write(data));
      },
      partEnd: () => {
        if (collector!.position !== part!.end + 1) {
          throw new RangeResponseError(
            `${this.subject}: multipart part ${part!.start}-${part!.end} has ${collector!.position - part!.start} bytes`,
          );
        }
      },
    });
    for await (const chunk of res.body) {
      this.received(chunk.length);
      parser.push(chunk);
      if (queue.length > 0) await this.deliver(queue.splice(0));
      if (parser.done) break;
    }
    parser.end();
  }

  /** A 200 to a single-range request: read from byte 0 until the batch's ranges are filled. */
  private async collectWholeBody(res: HttpResponse, batch: number[]): Promise<void> {
    const collector = new RangeCollector(0, this.contained(batch, 0, Number.MAX_SAFE_INTEGER));
    for await (const chunk of res.body) {
      this.received(chunk.length);
      await this.deliver(collector.write(chunk));
      if (collector.complete) break; // leaving the loop closes the connection
    }
    if (!collector.complete)
      throw new FormatError(
        `${this.subject}: whole-body answer ended at ${collector.position} before the requested ranges`,
      );
  }

  /** Range is ignored by this origin: one plain GET serves every pending range. */
  private async wholeBody(origin: string, pending: number[]): Promise<void> {
    const res = await requestBlob(this.ctx, origin, this.blob, {}, this.signal);
    if (res.status !== 200) throw await responseError(res, this.subject);
    return this.collectWholeBody(res, pending);
  }
}

/** Deliver each range to `onRange(index, bytes)` as soon as it is complete (any order). */
export async function fetchRangesStreaming(
  ctx: RegistryContext,
  blob: BlobRef,
  ranges: readonly ByteRange[],
  onRange: RangeCallback,
  options: FetchRangesOptions = {},
): Promise<void> {
  const subject = blobSubject(blob);
  validateRanges(ranges, blob.size, subject);
  for (let i = 0; i < ranges.length; i++)
    if (ranges[i]!.length === 0) await onRange(i, Buffer.alloc(0));
  const job = new RangeJob(ctx, blob, ranges, onRange, options.signal);
  if (job.missing.size === 0) return;
  await withOrigins(ctx, blob.registry, (origin) => job.run(origin));
}

/** Fetch the ranges; returns one buffer per range, in request order, each exactly `length` bytes. */
export async function fetchRanges(
  ctx: RegistryContext,
  blob: BlobRef,
  ranges: readonly ByteRange[],
  options: FetchRangesOptions = {},
): Promise<Buffer[]> {
  const out = new Array<Buffer>(ranges.length);
  await fetchRangesStreaming(
    ctx,
    blob,
    ranges,
    (i, data) => {
      out[i] = data;
    },
    options,
  );
  return out;
}
