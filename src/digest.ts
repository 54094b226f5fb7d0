/**
 * Digests in the OCI form `algorithm:hex`. Hashing uses node:crypto (sha256/sha512 run at
 * ~1.5 GB/s here); blake3 comes from @noble/hashes because node:crypto lacks it.
 */
import { createHash, type Hash } from "node:crypto";
import { createRequire } from "node:module";
import { DigestMismatchError, FormatError } from "./errors.js";

type Blake3 = typeof import("@noble/hashes/blake3.js")["blake3"];
let blake3Impl: Blake3 | undefined;
/**
 * @noble/hashes' blake3 (with the blake2 code and tables it builds) is loaded on first use:
 * nearly no image uses blake3, and loading it cost every process about 15 ms of start-up.
 * A synchronous require of the ES module (node >= 20.19) keeps createHasher synchronous.
 */
function blake3(): Blake3 {
  blake3Impl ??= (createRequire(import.meta.url)("@noble/hashes/blake3.js") as { blake3: Blake3 })
    .blake3;
  return blake3Impl;
}

export type Algorithm = "sha256" | "sha512" | "blake3";
export type Digest = `${Algorithm}:${string}`;

const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128, blake3: 64 };
const DIGEST_RE = /^(sha256|sha512|blake3):([a-f0-9]+)$/;

export const EMPTY_SHA256: Digest =
  "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** Parse and validate a digest string; throws FormatError naming `what` on failure. */
export function parseDigest(value: unknown, what = "digest"): Digest {
  if (typeof value !== "string") throw new FormatError(`${what}: not a string`);
  const m = DIGEST_RE.exec(value);
  if (!m) throw new FormatError(`${what}: invalid digest ${JSON.stringify(value.slice(0, 100))}`);
  const algo = m[1] as Algorithm;
  if (m[2]!.length !== HEX_LENGTH[algo]) {
    throw new FormatError(`${what}: ${algo} digest must have ${HEX_LENGTH[algo]} hex digits`);
  }
  return value as Digest;
}

export function isDigest(value: unknown): value is Digest {
  return typeof value === "string" && DIGEST_RE.test(value);
}

export function algorithmOf(d: Digest): Algorithm {
  return d.slice(0, d.indexOf(":")) as Algorithm;
}

export function hexOf(d: Digest): string {
  return d.slice(d.indexOf(":") + 1);
}

/** An incremental hasher with one interface for every algorithm. */
export interface Hasher {
  update(data: Uint8Array): void;
  digest(): Digest;
}

export function createHasher(algo: Algorithm = "sha256"): Hasher {
  if (algo === "blake3") {
    const h = blake3().create();
    return {
      update: (d) => void h.update(d),
      digest: () => `blake3:${Buffer.from(h.digest()).toString("hex")}`,
    };
  }
  const h: Hash = createHash(algo);
  return {
    update: (d) => void h.update(d),
    digest: () => `${algo}:${h.digest("hex")}`,
  };
}

export function digestOf(data: Uint8Array, algo: Algorithm = "sha256"): Digest {
  const h = createHasher(algo);
  h.update(data);
  return h.digest();
}

/** Throws DigestMismatchError when `data` does not hash to `expected`. */
export function verifyBytes(data: Uint8Array, expected: Digest, subject: string): void {
  const actual = digestOf(data, algorithmOf(expected));
  if (actual !== expected) throw new DigestMismatchError(subject, expected, actual);
}
