/**
 * A layer's exact tar from its tar-split and the store's file objects, as a stream (the tar-split
 * rebuild strategy, formats/tarsplit/rebuild.ts, over the store): every file is looked up by its
 * cleaned name (c/storage's CleanAbsPath: Go's path.Clean of "/" + name), and
 * every size is checked by the tar-split assembler; each object is re-hashed as it is read
 * (store.openObject), and the whole tar against the diff_id (which makes the tar-split's
 * per-file CRC-64 redundant, so it is not computed). The pull engine does the same.
 */
import { readFile } from "node:fs/promises";
import { createHasher, type Digest } from "../digest.js";
import { DigestMismatchError, NotInStoreError, UnsupportedError } from "../errors.js";
import type { FileRef } from "../formats/layer-index.js";
import { goCleanPath } from "../formats/tar/path.js";
import { tarFromTarSplit } from "../formats/tarsplit/rebuild.js";
import { readFilesIndex } from "./files-index.js";
import type { Store } from "./store.js";

/** What the rebuild needs of a file: where its content is in the store. */
export type StoredFile = Pick<FileRef, "name" | "size" | "digest">;

const cleanName = (name: string) => goCleanPath(`/${name}`);

/** name (cleaned) -> file, for mapping tar-split entries. */
export function filesByCleanPath(files: readonly StoredFile[]): Map<string, StoredFile> {
  return new Map(files.map((f) => [cleanName(f.name), f]));
}

export function tarFromStore(
  tarSplit: Buffer,
  files: Map<string, StoredFile> | readonly StoredFile[],
  store: Store,
): AsyncGenerator<Buffer> {
  const list = files instanceof Map ? [...files.values()] : files;
  // The caller checks the diff_id (see above): no per-file CRC-64 needed.
  return tarFromTarSplit(tarSplit, list, (file) => store.openObject(file.digest, file.size), {
    crc: false,
  });
}

/**
 * A stored layer's exact tar, checked against its diff_id on the way out: the last piece is
 * withheld until the hash matches, so a consumer never sees a complete wrong tar.
 */
export async function* storedLayerTar(store: Store, diffId: Digest): AsyncGenerator<Buffer> {
  const layer = await store.getLayer(diffId);
  if (!layer) throw new NotInStoreError(`layer ${diffId} is not in the store`);
  const tarSplit = await readFile(layer.tarSplitPath);
  if (tarSplit.length === 0) {
    throw new UnsupportedError(
      `layer ${diffId} was accepted on its TOC (verify "toc") and has no tar-split: its exact tar cannot be rebuilt; pull it with verify "diff-id"`,
    );
  }
  const index = await readFilesIndex(layer.filesPath);
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
