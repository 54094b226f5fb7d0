/**
 * Turn a validated eStargz TOC into the format-neutral file list the pull engine plans with.
 * Shared by the gzip reader and the zstd flavour: only the member codec differs.
 */
import { parseDigest } from "../../digest.js";
import type { ChunkRef, FileRef } from "../layer-index.js";
import {
  chunkDigestOf,
  chunkSpan,
  NO_PREFETCH_LANDMARK,
  normalizeTocName,
  PREFETCH_LANDMARK,
  type Toc,
} from "./toc.js";

/**
 * Regular files with payload, in TOC order, without the landmark files. A chunk's compressed
 * bytes are [offset, next larger member start): every data offset is a member start, and the
 * data members end where the TOC begins (`dataEnd`). Entries sharing an offset (innerOffset)
 * share the member and differ by `innerOffset`.
 */
export function tocFiles(toc: Toc, dataEnd: number): FileRef[] {
  const starts = [
    ...new Set(toc.entries.filter((e) => e.offset !== undefined).map((e) => e.offset as number)),
  ];
  starts.push(dataEnd);
  starts.sort((a, b) => a - b);
  const endOf = (offset: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] as number) > offset) hi = mid;
      else lo = mid + 1;
    }
    return starts[lo] as number;
  };

  const files: FileRef[] = [];
  let current: FileRef | undefined;
  for (const e of toc.entries) {
    if (e.type === "reg") {
      current = undefined;
      if (!e.size) continue;
      const name = normalizeTocName(e.name, `eStargz TOC entry ${e.name}`);
      current = {
        name,
        size: e.size,
        digest: parseDigest(e.digest, `eStargz TOC entry ${e.name} digest`),
        chunks: [],
      };
      if (name !== NO_PREFETCH_LANDMARK && name !== PREFETCH_LANDMARK) files.push(current);
    } else if (e.type !== "chunk") {
      current = undefined;
      continue;
    }
    if (!current) continue; // parseToc guarantees chunks follow a reg; keep the type checker calm
    const span = chunkSpan(e, current.size);
    const offset = e.offset as number;
    const chunk: ChunkRef = {
      offset,
      end: endOf(offset),
      fileOffset: span.start,
      size: span.size,
      digest: chunkDigestOf(e),
      zeros: false,
    };
    if (e.innerOffset) chunk.innerOffset = e.innerOffset;
    current.chunks.push(chunk);
  }
  return files;
}
