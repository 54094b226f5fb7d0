/**
 * A stored layer's exact tar, rebuilt from its tar-split and the store's file objects and
 * checked against its diff_id on the way out (the last piece is withheld until the hash
 * matches, so a consumer never sees a complete wrong tar).
 */
import { readFile } from "node:fs/promises";
import { createHasher, type Digest } from "../digest.js";
import { DigestMismatchError, UnsupportedError, UsageError } from "../errors.js";
import { readFilesIndex } from "../store/files-index.js";
import { filesByCleanPath, tarFromStore } from "../store/layer-tar.js";
import type { Store } from "../store/store.js";

export async function* storedLayerTar(store: Store, diffId: Digest): AsyncGenerator<Buffer> {
  const layer = await store.getLayer(diffId);
  if (!layer) throw new UsageError(`layer ${diffId} is not in the store`);
  const tarSplit = await readFile(layer.tarSplitPath);
  if (tarSplit.length === 0) {
    throw new UnsupportedError(
      `layer ${diffId} was accepted on its TOC (verify "toc") and has no tar-split: its exact tar cannot be rebuilt; pull it with verify "diff-id"`,
    );
  }
  const index = await readFilesIndex(layer.tocPath);
  const hasher = createHasher();
  let held: Buffer | undefined;
  for await (const piece of tarFromStore(tarSplit, filesByCleanPath(index.files), store)) {
    hasher.update(piece);
    if (held) yield held;
    held = piece;
  }
  const actual = hasher.digest();
  if (actual !== diffId) throw new DigestMismatchError(`stored layer ${diffId}`, diffId, actual);
  if (held) yield held;
}
