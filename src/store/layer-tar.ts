/**
 * A layer's exact tar from its tar-split and the store's file objects, as a stream: the tar-split
 * rebuild strategy (formats/tarsplit/rebuild.ts) with every file read from the store. The output
 * stage exports it.
 */
import type { FileRef } from "../formats/layer-index.js";
import { tarFromTarSplit } from "../formats/tarsplit/rebuild.js";
import type { Store } from "./store.js";

/** What the rebuild needs of a file: where its content is in the store. */
export type StoredFile = Pick<FileRef, "name" | "size" | "digest">;

/** The files by name (the tar-split rebuild matches names by their cleaned path itself). */
export function filesByCleanPath(files: readonly StoredFile[]): Map<string, StoredFile> {
  return new Map(files.map((f) => [f.name, f]));
}

export function tarFromStore(
  tarSplit: Buffer,
  files: Map<string, StoredFile> | readonly StoredFile[],
  store: Store,
): AsyncGenerator<Buffer> {
  const list = files instanceof Map ? [...files.values()] : files;
  return tarFromTarSplit(tarSplit, list, (file) => store.openObject(file.digest));
}
