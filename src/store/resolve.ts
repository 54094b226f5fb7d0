/**
 * Naming things in the store the way users type them: a full digest, or a prefix of its hex
 * (`77648f1ca68f`, `sha256:7764`), like `docker image ls` ids. A prefix must be unique.
 */
import type { Digest } from "../digest.js";
import { NotInStoreError, UsageError } from "../errors.js";

const MIN_PREFIX = 4;

/** Whether `spec` looks like a digest or a digest prefix (rather than an image reference). */
export function isDigestSpec(spec: string): boolean {
  return /^(?:[a-z0-9]+:)?[0-9a-f]+$/i.test(spec) && !spec.includes("/");
}

/**
 * The one candidate `spec` names. `what` names the kind for messages ("layer"). Throws
 * NotInStoreError when nothing matches, UsageError when the prefix is too short or ambiguous.
 */
export function matchDigest(spec: string, candidates: Iterable<Digest>, what: string): Digest {
  const matches = matchDigests(spec, candidates);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new NotInStoreError(`${what} ${spec} is not in the store`);
  throw new UsageError(
    `${spec} matches ${matches.length} ${what}s (${matches.map((d) => d.slice(0, 19)).join(", ")}); give more digits`,
  );
}

/** Every candidate `spec` names (deduplicated). */
export function matchDigests(spec: string, candidates: Iterable<Digest>): Digest[] {
  const lower = spec.toLowerCase();
  const colon = lower.indexOf(":");
  const algo = colon >= 0 ? lower.slice(0, colon) : undefined;
  const hex = colon >= 0 ? lower.slice(colon + 1) : lower;
  if (!/^[0-9a-f]+$/.test(hex)) throw new UsageError(`${spec} is not a digest or digest prefix`);
  if (hex.length < MIN_PREFIX) {
    throw new UsageError(`${spec}: give at least ${MIN_PREFIX} hex digits of the digest`);
  }
  const out = new Set<Digest>();
  for (const d of candidates) {
    const [dAlgo, dHex] = d.split(":") as [string, string];
    if ((algo === undefined || algo === dAlgo) && dHex.startsWith(hex)) out.add(d);
  }
  return [...out];
}
