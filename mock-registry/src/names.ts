/** Grammar of repository names, tags and digests (distribution-spec "Pulling manifests"). */
import { isDigest, parseDigest } from "../../src/digest.js";

const NAME_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function isValidName(name: string): boolean {
  return name.length <= 255 && NAME_RE.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** True when the string is shaped like `algo:...` (and so must be judged as a digest). */
export function looksLikeDigest(ref: string): boolean {
  return ref.includes(":");
}

/** A well-formed digest of a supported algorithm (sha256, sha512, blake3 with right length). */
export function isValidDigest(ref: string): boolean {
  if (!isDigest(ref)) return false;
  try {
    parseDigest(ref);
    return true;
  } catch {
    return false;
  }
}
