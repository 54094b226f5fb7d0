/**
 * The files index kept with every layer record (`toc.json` in the layer's directory): each
 * regular file's name, size and object digest, in tar order. With the layer's tar-split it is
 * all that is needed to rebuild the exact layer tar from the store, whatever format the layer
 * arrived in (zstd:chunked, eStargz, gzip, zstd, tar).
 */
import { readFile } from "node:fs/promises";
import { type Digest, parseDigest } from "../digest.js";
import { FormatError } from "../errors.js";

export interface IndexedFile {
  name: string;
  size: number;
  digest: Digest;
}

export interface FilesIndex {
  version: 1;
  /** The format the layer was pulled from. */
  format: string;
  tocDigest?: Digest;
  files: IndexedFile[];
}

export function encodeFilesIndex(
  format: string,
  files: readonly IndexedFile[],
  tocDigest?: Digest,
): Buffer {
  const list = files.map((f) => ({ name: f.name, size: f.size, digest: f.digest }));
  return Buffer.from(JSON.stringify({ version: 1, format, tocDigest, files: list }));
}

export async function readFilesIndex(path: string): Promise<FilesIndex> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new FormatError(`files index ${path}: ${(err as Error).message}`, { cause: err });
  }
  const d = doc as Partial<FilesIndex>;
  if (d.version !== 1 || !Array.isArray(d.files) || typeof d.format !== "string") {
    throw new FormatError(`files index ${path}: not a version 1 files index`);
  }
  const files = d.files.map((f, i) => {
    if (typeof f?.name !== "string" || !Number.isSafeInteger(f.size) || f.size < 0) {
      throw new FormatError(`files index ${path}: entry ${i} is malformed`);
    }
    return { name: f.name, size: f.size, digest: parseDigest(f.digest, `files index entry ${i}`) };
  });
  return { version: 1, format: d.format, tocDigest: d.tocDigest, files };
}
