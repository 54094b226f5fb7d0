/**
 * Rebuild and verify: streams the layer tar from its tar-split and the store's file objects,
 * hashing on the fly, and compares the result with the diff_id the image config declares. Only
 * a layer that passes gets a record in the store.
 */
import { createHasher, type Digest } from "../digest.js";
import { DigestMismatchError, FormatError } from "../errors.js";
import type { FileRef } from "../formats/layer-index.js";
import { assembleTar } from "../formats/tarsplit/assemble.js";
import { readTarSplit } from "../formats/tarsplit/reader.js";
import { cleanAbsPath } from "../formats/zstdchunked/path.js";
import type { Store } from "../store/store.js";

export interface RebuildResult {
  diffId: Digest;
  size: number;
}

/** name (cleaned like c/storage's CleanAbsPath) -> file, for mapping tar-split entries. */
/** What the rebuild needs of a file: where its content is in the store. */
export type StoredFile = Pick<FileRef, "name" | "size" | "digest">;

export function filesByCleanPath(files: readonly StoredFile[]): Map<string, StoredFile> {
  return new Map(files.map((f) => [cleanAbsPath(f.name), f]));
}

/** The layer tar from tar-split + store objects, as a stream (every CRC and size checked). */
export function tarFromStore(
  tarSplit: Buffer,
  files: Map<string, StoredFile>,
  store: Store,
): AsyncGenerator<Buffer> {
  const getFile = async (name: string, size: number): Promise<AsyncIterable<Uint8Array>> => {
    const file = files.get(cleanAbsPath(name));
    if (!file)
      throw new FormatError(`tar-split names ${JSON.stringify(name)}, the TOC has no such file`);
    if (file.size !== size) {
      throw new FormatError(`${file.name}: tar-split size ${size}, TOC size ${file.size}`);
    }
    return store.openObject(file.digest);
  };
  return assembleTar(readTarSplit(once(tarSplit)), getFile);
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

async function* once(buf: Buffer): AsyncGenerator<Uint8Array> {
  yield buf;
}
