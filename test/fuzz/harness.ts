/**
 * Shared settings of the fuzz suites: seeded and bounded in CI (a few seconds per parser),
 * longer locally with `FUZZ_RUNS=20000 FUZZ_SEED=... node --test dist/test/fuzz/`. The
 * property every parser must hold: return a value, or throw a ChunkpullError (typed, with a
 * code); never a raw TypeError/RangeError/SyntaxError, never hang.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChunkpullError } from "../../src/errors.js";

export const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
export const SEED = Number(process.env.FUZZ_SEED ?? 20261203);

/** fast-check parameters: fixed seed unless FUZZ_SEED says otherwise, RUNS runs. */
export function params<T>(): fc.Parameters<T> {
  return { numRuns: RUNS, seed: SEED, endOnFailure: true };
}

/** Anything thrown must be a typed error with a code. */
export function assertTyped(err: unknown, what: string): void {
  if (err instanceof ChunkpullError && typeof err.code === "string" && err.code.startsWith("E"))
    return;
  assert.fail(`${what} threw an untyped error: ${(err as Error)?.stack ?? String(err)}`);
}

export function typedSync(what: string, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assertTyped(err, what);
  }
}

export async function typedAsync(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assertTyped(err, what);
  }
}

/** A buffer with some bytes overwritten at random positions (mutation of a valid input). */
export function mutated(valid: Buffer): fc.Arbitrary<Buffer> {
  return fc
    .array(
      fc.tuple(fc.nat({ max: Math.max(0, valid.length - 1) }), fc.integer({ min: 0, max: 255 })),
      {
        maxLength: 8,
      },
    )
    .chain((edits) =>
      fc.constantFrom(0, 1, 2).map((cut) => {
        const b = Buffer.from(valid);
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        // Sometimes truncate or extend, too.
        if (cut === 1) return b.subarray(0, Math.floor(b.length / 2));
        if (cut === 2) return Buffer.concat([b, Buffer.from([0, 1, 2])]);
        return b;
      }),
    );
}

/** Feed a buffer to a streaming parser in random-sized pieces. */
export function pieces(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    out.push(data.subarray(at, p));
    at = p;
  }
  out.push(data.subarray(at));
  return out;
}

/** Numbers that break naive parsers: negatives, floats, huge, NaN-ish strings, types. */
export const nasty: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.nat(),
  fc.constantFrom(-1, 0, 1, 2 ** 53, 2 ** 64, 1.5, Number.MAX_SAFE_INTEGER, -0),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(null, true, false, "", "NaN", "1e400"),
  fc.array(fc.nat(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.nat(), { maxKeys: 2 }),
);

/** Like `mutated`, but the edits land in the last `span` bytes (where footers and TOCs live). */
export function mutatedTail(valid: Buffer, span: number): fc.Arbitrary<Buffer> {
  const from = Math.max(0, valid.length - span);
  return fc
    .array(
      fc.tuple(
        fc.integer({ min: from, max: Math.max(from, valid.length - 1) }),
        fc.integer({ min: 0, max: 255 }),
      ),
      {
        minLength: 1,
        maxLength: 4,
      },
    )
    .map((edits) => {
      const b = Buffer.from(valid);
      for (const [i, v] of edits) b[i] = v;
      return b;
    });
}
