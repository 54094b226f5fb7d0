/**
 * Rebuild and verify: streams the layer tar from its tar-split and the store's file objects,
 * hashing on the fly, and compares the result with the diff_id the image config declares. Only
 * a layer that passes gets a record in the store.
 */
import { createHasher, type Digest } from "../digest.js";
import { DigestMismatchError } from "../errors.js";
import { type StoredFile, tarFromStore } from "../store/layer-tar.js";
import type { Store } from "../store/store.js";

export interface RebuildResult {
  diffId: Digest;
  size: number;
}

/** Hash the rebuilt tar and require it to equal `expected` (the config's diff_id). */
export async function rebuildAndVerify(
  tarSplit: Buffer,
  files: Map<string, StoredFile>,
  store: Store,
  expected: Digest,
  subject: string,
): Promise<RebuildResult> {
  const hasher = createHasher();
  let size = 0;
  for await (const piece of tarFromStore(tarSplit, files, store)) {
    hasher.update(piece);
    size += piece.length;
  }
  const diffId = hasher.digest();
  if (diffId !== expected)
    throw new DigestMismatchError(`rebuilt tar of ${subject}`, expected, diffId);
  return { diffId, size };
}
