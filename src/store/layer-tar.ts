/**
 * A layer's exact tar from its tar-split and the store's file objects, as a stream: every file
 * is looked up by its cleaned name (c/storage's CleanAbsPath), and every size and CRC-64 is
 * checked by the tar-split assembler. The pull engine hashes it against the diff_id; the output
 * stage exports it.
 */
import { FormatError } from "../errors.js";
import type { FileRef } from "../formats/layer-index.js";
import { assembleTar } from "../formats/tarsplit/assemble.js";
import { readTarSplit } from "../formats/tarsplit/reader.js";
import { cleanAbsPath } from "../formats/zstdchunked/path.js";
import type { Store } from "./store.js";

/** What the rebuild needs of a file: where its content is in the store. */
export type StoredFile = Pick<FileRef, "name" | "size" | "digest">;

/** name (cleaned) -> file, for mapping tar-split entries. */
export function filesByCleanPath(files: readonly StoredFile[]): Map<string, StoredFile> {
  return new Map(files.map((f) => [cleanAbsPath(f.name), f]));
}

export function tarFromStore(
  tarSplit: Buffer,
  files: Map<string, StoredFile>,
  store: Store,
): AsyncGenerator<Buffer> {
  const getFile = async (name: string, size: number): Promise<AsyncIterable<Uint8Array>> => {
    const file = files.get(cleanAbsPath(name));
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

async function* once(buf: Buffer): AsyncGenerator<Uint8Array> {
  yield buf;
}
