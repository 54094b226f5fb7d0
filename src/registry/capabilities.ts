/**
 * What each storage origin does with Range headers, learned from its answers and remembered for
 * the process: how many ranges one request may carry (halved on 400/416/501), whether only
 * single ranges work (after a 200 or a first-only answer to a multi-range request), and whether
 * Range is ignored altogether (200 to a single range: fetch the body once and pick the ranges).
 */

export type RangeMode = "multi" | "single" | "none";

export interface RangeCapability {
  mode: RangeMode;
  /** Ranges per request in "multi" mode. */
  maxRanges: number;
  /** "single" mode: a single range has been answered with 206 (so Range is not ignored altogether). */
  singleConfirmed?: boolean;
}

export const DEFAULT_MAX_RANGES = 128;

export class CapabilityStore {
  private readonly byOrigin = new Map<string, RangeCapability>();

  constructor(readonly initialMaxRanges = DEFAULT_MAX_RANGES) {}

  get(origin: string): RangeCapability {
    return this.byOrigin.get(origin) ?? { mode: "multi", maxRanges: this.initialMaxRanges };
  }

  /** A request with `attempted` ranges was refused (400/416/501): allow half as many next time. */
  refuseMulti(origin: string, attempted: number): RangeCapability {
    const cur = this.get(origin);
    if (cur.mode === "none") return cur; // Range is ignored there anyway: nothing to halve
    const maxRanges = Math.min(cur.maxRanges, Math.max(1, Math.floor(attempted / 2)));
    const next: RangeCapability =
      maxRanges <= 1 ? { mode: "single", maxRanges: 1 } : { mode: "multi", maxRanges };
    this.byOrigin.set(origin, next);
    return next;
  }

  /** Multi-range answered with the whole body or with fewer ranges than asked: single ranges only. */
  singleOnly(origin: string): void {
    const cur = this.get(origin);
    if (cur.mode !== "none") this.byOrigin.set(origin, { mode: "single", maxRanges: 1 });
  }

  /** A single range answered with 206: single ranges work here. */
  confirmSingle(origin: string): void {
    const cur = this.get(origin);
    if (cur.mode === "single" && !cur.singleConfirmed)
      this.byOrigin.set(origin, { ...cur, singleConfirmed: true });
  }

  /** A single range answered with 200: the origin ignores Range. */
  ignoresRange(origin: string): void {
    this.byOrigin.set(origin, { mode: "none", maxRanges: 1 });
  }

  /** Forget everything (tests; or after a registry was reconfigured). */
  clear(): void {
    this.byOrigin.clear();
  }
}

/** The process-wide store clients share unless they are given their own. */
export const processCapabilities = new CapabilityStore();
