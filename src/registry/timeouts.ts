/**
 * Deadlines for every request, so a stalled or trickling server fails a pull in seconds rather
 * than minutes: connect, response headers, idle body (no byte for that long), and a minimum
 * throughput measured over a window (a body that keeps arriving but far too slowly). The
 * defaults are chosen so a server that stalls fails a pull within a minute once retries (whose
 * time budget is in retry.ts) are spent.
 */
import { TimeoutError } from "./errors.js";

export interface TimeoutOptions {
  /** TCP + TLS connect (default 10 s). */
  connectMs?: number;
  /** From sending a request to its response headers (default 20 s). */
  headersMs?: number;
  /** Longest silence inside a response body (default 20 s). */
  idleMs?: number;
  /**
   * Slowest acceptable body rate in bytes per second, averaged over `throughputWindowMs` of
   * waiting for the network (default 4 KiB/s; 0 disables). Time the consumer spends with a
   * chunk does not count, so a slow disk is never blamed on the server. Low on purpose: many
   * connections share one link, and a slow link must not fail a pull; a 2 KB/s trickle does.
   */
  minBytesPerSecond?: number;
  /** Window of the throughput rule (default 30 s). */
  throughputWindowMs?: number;
}

export type ResolvedTimeouts = Required<TimeoutOptions>;

export const DEFAULT_TIMEOUTS: Readonly<ResolvedTimeouts> = Object.freeze({
  connectMs: 10_000,
  headersMs: 20_000,
  idleMs: 20_000,
  minBytesPerSecond: 4 * 1024,
  throughputWindowMs: 30_000,
});

/**
 * Fill in defaults. `legacyMs` (the client's older single `timeoutMs`) sets connect, headers and
 * idle at once; explicit fields win over it.
 */
export function resolveTimeouts(o: TimeoutOptions = {}, legacyMs?: number): ResolvedTimeouts {
  const base = legacyMs === undefined ? DEFAULT_TIMEOUTS : stalls(legacyMs);
  const out = { ...base, ...definedOnly(o) };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`timeouts.${k} must be >= 0, not ${v}`);
  }
  return out;
}

function stalls(ms: number): ResolvedTimeouts {
  return { ...DEFAULT_TIMEOUTS, connectMs: ms, headersMs: ms, idleMs: ms };
}

function definedOnly(o: TimeoutOptions): TimeoutOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/**
 * Watches one response body's throughput. `waited` is time spent waiting for the network (not
 * time the consumer held a chunk); every full window is judged on its own, so one slow start
 * does not doom a body that later runs fast, and one burst does not excuse a long trickle.
 */
export class ThroughputWatch {
  private waitedMs = 0;
  private bytes = 0;

  constructor(
    private readonly t: ResolvedTimeouts,
    private readonly method: string,
    private readonly url: string,
  ) {}

  /** Account a chunk (or the end) that took `waitedMs` to arrive; throws TimeoutError when too slow. */
  add(bytes: number, waitedMs: number): void {
    if (this.t.minBytesPerSecond <= 0) return;
    this.waitedMs += waitedMs;
    this.bytes += bytes;
    if (this.waitedMs < this.t.throughputWindowMs) return;
    const rate = (this.bytes * 1000) / this.waitedMs;
    if (rate < this.t.minBytesPerSecond) {
      throw new TimeoutError(
        `${this.method} ${this.url}: body arrives at ${Math.round(rate)} bytes/s, below the minimum of ${this.t.minBytesPerSecond} bytes/s over ${Math.round(this.waitedMs / 1000)} s`,
        { url: this.url, kind: "throughput" },
      );
    }
    this.waitedMs = 0;
    this.bytes = 0;
  }
}
