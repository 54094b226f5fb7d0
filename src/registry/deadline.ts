/**
 * An overall time limit for a whole operation (a pull): one more abort reason next to the
 * caller's signal. Whatever error the abort surfaces as (an AbortError from a stream, a store
 * write cut short), the operation reports one TimeoutError naming the limit.
 */
import { TimeoutError } from "./errors.js";

export interface Deadline {
  signal: AbortSignal | undefined;
  /** The error to report for `err`: a TimeoutError when the limit ran out, else `err` itself. */
  explain(err: unknown, subject: string): unknown;
}

export function withDeadline(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): Deadline {
  if (timeoutMs === undefined) return { signal, explain: (err) => err };
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new RangeError(`timeoutMs must be a positive number, not ${timeoutMs}`);
  const limit = AbortSignal.timeout(timeoutMs);
  return {
    signal: signal ? AbortSignal.any([signal, limit]) : limit,
    explain(err, subject) {
      if (!limit.aborted || signal?.aborted) return err;
      const s = timeoutMs % 1000 === 0 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`;
      // The transport's own deadline error names the request that was waiting.
      const at = err instanceof TimeoutError && err.url ? ` (waiting for ${err.url})` : "";
      return new TimeoutError(`${subject}: did not finish within the time limit of ${s}${at}`, {
        kind: "total",
        cause: err,
      });
    },
  };
}
