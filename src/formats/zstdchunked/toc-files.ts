/**
 * Folds a validated TOC into the format-neutral FileRef list (spec §5.4) and checks every byte
 * range: payload frames lie in [1, tocOffset), files and chunks are strictly increasing and never
 * overlap (P22). The last chunk of a file ends at the reg entry's `endOffset`, which is tighter
 * than c/storage's "next file's offset" and exact for blobs written by c/storage.
 */
import { type Digest, parseDigest } from "../../digest.js";
import { FormatError } from "../../errors.js";
import type { ChunkRef, FileRef } from "../layer-index.js";
import { cleanAbsPath } from "./path.js";
import type { Toc, TocEntry } from "./toc.js";

interface PendingFile {
  entry: TocEntry;
  index: number;
  chunks: TocEntry[];
}

function group(entries: readonly TocEntry[]): PendingFile[] {
  const files: PendingFile[] = [];
  let current: PendingFile | undefined;
  entries.forEach((e, index) => {
    if (e.type === "chunk") {
      if (!current) throw new FormatError(`TOC entry ${index}: chunk type without a regular file`);
      current.chunks.push(e);
      return;
    }
    current = undefined;
    if (e.type === "reg" && e.size > 0) {
      current = { entry: e, index, chunks: [e] };
      files.push(current);
    }
  });
  return files;
}

/** A sha256 digest as the TOC validation already accepted it; anything else parsed in full. */
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
function digestOf(d: string, what: () => string): Digest {
  return d.length === 71 && SHA256_DIGEST.test(d) ? (d as Digest) : parseDigest(d, what());
}

/**
 * Regular files with payload, in TOC order, with chunk byte ranges. `tocOffset` is the blob
 * offset of the TOC payload: no payload frame may reach it.
 */
export function tocFiles(toc: Toc, tocOffset: number): FileRef[] {
  const files = group(toc.entries);
  // Old writers may leave endOffset 0: like c/storage, walk backwards and use the next file's
  // offset (or the TOC's) as the end.
  let nextStart = tocOffset;
  const ends: number[] = new Array(files.length);
  for (let i = files.length - 1; i >= 0; i--) {
    const f = files[i]!;
    ends[i] = f.entry.endOffset === 0 ? nextStart : f.entry.endOffset;
    nextStart = f.entry.offset;
  }
  let prevEnd = 0;
  return files.map((f, i) => {
    const e = f.entry;
    const at = () => `TOC entry ${f.index} (${JSON.stringify(e.name)})`;
    const end = ends[i]!;
    if (e.offset < prevEnd || e.offset <= 0) {
      throw new FormatError(
        `${at()}: offset ${e.offset} overlaps the previous payload (ends ${prevEnd})`,
      );
    }
    if (end <= e.offset || end > tocOffset) {
      throw new FormatError(
        `${at()}: payload range [${e.offset}, ${end}) is empty or reaches the TOC at ${tocOffset}`,
      );
    }
    prevEnd = end;
    const multi = f.chunks.length > 1 || e.chunkSize > 0;
    const chunks: ChunkRef[] = f.chunks.map((c, k) => {
      const next = f.chunks[k + 1];
      const chunkEnd = next ? next.offset : end;
      if (c.offset >= chunkEnd) {
        throw new FormatError(
          `${at()}: chunk ${k} range [${c.offset}, ${chunkEnd}) is empty or not increasing`,
        );
      }
      const ref: ChunkRef = {
        offset: c.offset,
        end: chunkEnd,
        fileOffset: multi ? c.chunkOffset : 0,
        size: multi ? c.chunkSize : e.size,
        zeros: multi && c.chunkType === "zeros",
      };
      if (multi && c.chunkDigest !== "")
        ref.digest = digestOf(c.chunkDigest, () => `${at()} chunk ${k}`);
      return ref;
    });
    return {
      name: cleanAbsPath(e.name),
      size: e.size,
      digest: digestOf(e.digest, () => `${at()} digest`),
      chunks,
    };
  });
}
