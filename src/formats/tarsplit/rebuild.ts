/**
 * The tar-split rebuild strategy: the tar-split's segments verbatim, each file's content from
 * whoever provides it (the blob's chunks, or a store), matched by its cleaned path (c/storage's
 * CleanAbsPath) and checked by size and CRC-64 by the assembler.
 */
import { FormatError } from "../../errors.js";
import type { FileRef } from "../layer-index.js";
import { goCleanPath } from "../tar/path.js";
import { type AssembleOptions, assembleTar, type FileGetter } from "./assemble.js";
import { readTarSplit } from "./reader.js";

/** c/storage's CleanAbsPath: Go's path.Clean of "/" + name. */
const cleanName = (name: string) => goCleanPath(`/${name}`);

/** What the tar-split rebuild needs of a file. */
export type NamedFile = Pick<FileRef, "name" | "size" | "digest">;

export function tarFromTarSplit<F extends NamedFile>(
  tarSplit: Buffer,
  files: readonly F[],
  open: (file: F) => Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>,
  options: AssembleOptions = {},
): AsyncGenerator<Buffer> {
  const byPath = new Map(files.map((f) => [cleanName(f.name), f]));
  const getFile: FileGetter = async (name, size) => {
    const file = byPath.get(cleanName(name));
    if (file === undefined) {
      throw new FormatError(
        `tar-split names ${JSON.stringify(name)} (${size} bytes), the TOC has no such file`,
      );
    }
    if (file.size !== size) {
      throw new FormatError(`${file.name}: tar-split size ${size}, TOC size ${file.size}`);
    }
    return open(file);
  };
  return assembleTar(readTarSplit(once(tarSplit)), getFile, options);
}

async function* once(buf: Buffer): AsyncGenerator<Uint8Array> {
  yield buf;
}
