/**
 * Behaviour modes: global values, per-repository overrides, and the request counters of the
 * "next N requests" modes (429, 5xx). Counters live here so that a per-repo burst only consumes
 * requests naming that repo.
 */
import type { BehaviourModes } from "./types.js";

export const DEFAULT_MODES: Readonly<BehaviourModes> = Object.freeze({
  multiRange: "multipart",
  colonBoundary: false,
  ignoreRange: false,
  closedRangesOnly: false,
  acceptRanges: true,
  resetAfterBytes: null,
  stallAfterBytes: null,
  stallHeaders: false,
  bandwidthBytesPerSecond: 0,
  latencyMs: 0,
  tooManyRequests: null,
  serverErrors: null,
  corruptByteAt: null,
  redirectBlobs: false,
  redirectTtlSeconds: 60,
  manifestDigestHeader: "present",
  manifestHead405: false,
  warning: null,
});

/** What a request must do before normal processing, decided by the counters. */
export type Interruption =
  | { kind: "429"; retryAfterSeconds: number; form: "seconds" | "http-date" }
  | { kind: "5xx"; status: number };

export class ModeTable {
  #global: BehaviourModes = { ...DEFAULT_MODES };
  #perRepo = new Map<string, Partial<BehaviourModes>>();

  constructor(initial?: Partial<BehaviourModes>) {
    if (initial) this.set(initial);
  }

  set(modes: Partial<BehaviourModes>, repo?: string): void {
    const clean = copyModes(modes);
    if (repo === undefined) {
      this.#global = { ...this.#global, ...clean };
    } else {
      this.#perRepo.set(repo, { ...this.#perRepo.get(repo), ...clean });
    }
  }

  clear(repo?: string): void {
    if (repo === undefined) {
      this.#global = { ...DEFAULT_MODES };
      this.#perRepo.clear();
    } else {
      this.#perRepo.delete(repo);
    }
  }

  /** Effective modes for a request naming `repo` (or none). */
  effective(repo?: string): BehaviourModes {
    const over = repo === undefined ? undefined : this.#perRepo.get(repo);
    return over ? { ...this.#global, ...over } : { ...this.#global };
  }

  snapshot(): { global: BehaviourModes; repos: Record<string, Partial<BehaviourModes>> } {
    return { global: { ...this.#global }, repos: Object.fromEntries(this.#perRepo) };
  }

  /**
   * Consume one unit of a 429 or 5xx burst for this request, if any is armed. The most specific
   * scope (the repo) is consumed first, so a per-repo burst does not eat the global one.
   */
  takeInterruption(repo?: string): Interruption | undefined {
    const scopes: Array<Partial<BehaviourModes>> = [];
    const over = repo === undefined ? undefined : this.#perRepo.get(repo);
    if (over) scopes.push(over);
    scopes.push(this.#global);
    for (const scope of scopes) {
      const tmr = scope.tooManyRequests;
      if (tmr && tmr.count > 0) {
        scope.tooManyRequests = tmr.count > 1 ? { ...tmr, count: tmr.count - 1 } : null;
        return { kind: "429", retryAfterSeconds: tmr.retryAfterSeconds, form: tmr.form };
      }
      const se = scope.serverErrors;
      if (se && se.count > 0) {
        scope.serverErrors = se.count > 1 ? { ...se, count: se.count - 1 } : null;
        return { kind: "5xx", status: se.status };
      }
    }
    return undefined;
  }
}

const MULTI = new Set([
  "multipart",
  "full200",
  "status400",
  "status416",
  "status501",
  "firstOnly",
  "reorder",
]);

/** Validate and copy a Partial<BehaviourModes> (it may come from JSON over the admin endpoint). */
export function copyModes(input: unknown): Partial<BehaviourModes> {
  if (typeof input !== "object" || input === null) throw new TypeError("modes must be an object");
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!(key in DEFAULT_MODES)) throw new TypeError(`unknown mode ${JSON.stringify(key)}`);
    if (key === "multiRange" && !MULTI.has(String(value))) {
      throw new TypeError(`multiRange: unknown value ${JSON.stringify(value)}`);
    }
    out[key] = typeof value === "object" && value !== null ? { ...value } : value;
  }
  return out as Partial<BehaviourModes>;
}
