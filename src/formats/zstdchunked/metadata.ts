/**
 * TOC metadata derived from a tar header, as c/storage's minimal.NewFileMetadata does. The
 * writer fills TOC entries with it, and the consistency check compares against the same fields,
 * so TOC and tar-split cannot drift apart (P6).
 */
import { UnsupportedError } from "../../errors.js";
import { tocTypeOf as typeOfFlag } from "../tar/entry-types.js";
import type { TarHeader, TarTime } from "../tar/types.js";
import { formatRfc3339Nano, isGoZeroTime } from "./time.js";
import { emptyTocEntry, type TocEntry, type TocEntryType } from "./toc.js";

/** The TOC type of a tar typeflag; UnsupportedError ("unknown tarball type") otherwise. */
export function tocTypeOf(hdr: TarHeader): TocEntryType {
  const t = typeOfFlag(hdr.typeflag);
  if (t === undefined) {
    throw new UnsupportedError(
      `tar entry ${JSON.stringify(hdr.name)}: unknown tarball type ${JSON.stringify(hdr.typeflag)}`,
    );
  }
  return t;
}

/** xattrs as the TOC stores them: name -> standard base64 of the raw value. */
export function xattrsOf(hdr: TarHeader): Record<string, string> | undefined {
  if (hdr.xattrs.size === 0) return undefined;
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of hdr.xattrs) out[k] = v.toString("base64");
  return out;
}

function timeField(t: TarTime | undefined): string | undefined {
  return t === undefined || isGoZeroTime(t) ? undefined : formatRfc3339Nano(t);
}

/** NewFileMetadata: every field except digest, offsets and chunk fields. */
export function tocEntryFromHeader(hdr: TarHeader): TocEntry {
  const e = emptyTocEntry(tocTypeOf(hdr), hdr.name);
  e.linkName = hdr.linkname;
  e.mode = hdr.mode;
  e.size = hdr.declaredSize; // Go's hdr.Size: the declared size, also for header-only types
  e.uid = hdr.uid;
  e.gid = hdr.gid;
  e.modtime = timeField(hdr.mtime);
  e.accesstime = timeField(hdr.atime);
  e.changetime = timeField(hdr.ctime);
  e.devMajor = hdr.devmajor;
  e.devMinor = hdr.devminor;
  e.xattrs = xattrsOf(hdr);
  return e;
}
