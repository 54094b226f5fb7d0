/**
 * A layer's exact tar from its tar-split and the store's file objects, as a stream: every file
 * is looked up by its cleaned name (c/storage's CleanAbsPath: Go's path.Clean of "/" + name), and
 * every size and CRC-64 is checked by the tar-split assembler; each object is re-hashed as it is
 * read (store.openObject). The pull engine hashes the tar against the diff_id; `layerTar` does
 * the same for a stored layer.
 */
import { readFile } from "node:fs/promises";
import { createHasher, type Digest } from "../digest.js";
import { DigestMismatchError, FormatError, NotInStoreError, UnsupportedError } from "../errors.js";
import type { FileRef } from "../formats/layer-index.js";
import { goCleanPath } from "../formats/tar/path.js";
import { assembleTar } from "../formats/tarsplit/assemble.js";
import { readTarSplit } from "../formats/tarsplit/reader.js";
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
  files: Map<string, StoredFile>,
  store: Store,
): AsyncGenerator<Buffer> {
  const getFile = async (name: string, size: number): Promise<AsyncIterable<Uint8Array>> => {
    const file = files.get(cleanName(name));
    if (!file) {
      throw new FormatError(`tar-split names ${JSON.stringify(name)}, the TOC has no such file`);
    }
    if (file.size !== size) {
      throw new FormatError(`${file.name}: tar-split size ${size}, TOC size ${file.size}`);
    }
    return store.openObject(file.digest);
  };
  return assembleTar(readTarSplit(once(tarSplit)), getFile);
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

async function* once(buf: Buffer): AsyncGenerator<Uint8Array> {
  yield buf;
}
