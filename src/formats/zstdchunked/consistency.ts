/**
 * TOC ≡ tar-split (spec §3.6, c/storage ensureTOCMatchesTarSplit): every tar-split header must
 * have exactly one TOC entry with the same name and the same metadata, and vice versa. Without
 * this a layer could show one thing to partial pulls (TOC) and another to exports (tar-split):
 * issue #2014, a setuid bit that only the tar-split carried.
 */
import { FormatError } from "../../errors.js";
import type { TarHeader, TarTime } from "../tar/types.js";
import { tocTypeOf, xattrsOf } from "./metadata.js";
import { parseRfc3339, sameInstant } from "./time.js";
import type { Toc, TocEntry } from "./toc.js";

function tocTime(s: string | undefined, what: string): TarTime | undefined {
  return s === undefined || s === "" ? undefined : parseRfc3339(s, what);
}

type Xattrs = Record<string, string> | undefined;

function sameXattrs(a: Xattrs, b: Xattrs, dropEmpty: boolean): boolean {
  const keys = (m: Xattrs) => (m ? Object.keys(m).filter((k) => !dropEmpty || m[k] !== "") : []);
  const ka = keys(a);
  const kb = keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b!, k) && b![k] === a![k]);
}

export interface ConsistencyOptions {
  /**
   * c/storage v1.47-v1.53 built TOC xattrs from Go's hdr.Xattrs, which drops empty values, and
   * never compared TOC and tar-split. For their blobs (tar-split vouched for by the deprecated
   * annotation) an xattr with an empty value may be missing from the TOC.
   */
  ignoreEmptyXattrs?: boolean;
}

/** The first field where the TOC entry and the header disagree, or undefined. */
function mismatch(e: TocEntry, hdr: TarHeader, opts: ConsistencyOptions): string | undefined {
  let type: string;
  try {
    type = tocTypeOf(hdr);
  } catch {
    return `type: TOC ${e.type}, tar-split has typeflag ${JSON.stringify(hdr.typeflag)}`;
  }
  const pairs: Array<[string, unknown, unknown]> = [
    ["type", e.type, type],
    ["linkName", e.linkName, hdr.linkname],
    ["mode", e.mode, hdr.mode],
    ["size", e.size, hdr.declaredSize],
    ["uid", e.uid, hdr.uid],
    ["gid", e.gid, hdr.gid],
    ["devMajor", e.devMajor, hdr.devmajor],
    ["devMinor", e.devMinor, hdr.devminor],
  ];
  for (const [field, toc, tar] of pairs) {
    if (toc !== tar)
      return `${field}: TOC ${JSON.stringify(toc)}, tar-split ${JSON.stringify(tar)}`;
  }
  const times: Array<[string, string | undefined, TarTime | undefined]> = [
    ["modtime", e.modtime, hdr.mtime],
    ["accesstime", e.accesstime, hdr.atime],
    ["changetime", e.changetime, hdr.ctime],
  ];
  for (const [field, toc, tar] of times) {
    if (!sameInstant(tocTime(toc, field), tar)) {
      return `${field}: TOC ${toc ?? "unset"}, tar-split ${tar ? `${tar.sec}s+${tar.nsec}ns` : "unset"}`;
    }
  }
  if (!sameXattrs(e.xattrs, xattrsOf(hdr), opts.ignoreEmptyXattrs === true)) {
    return `xattrs: TOC ${JSON.stringify(e.xattrs ?? {})}, tar-split ${JSON.stringify(xattrsOf(hdr) ?? {})}`;
  }
  return undefined;
}

/** Throws FormatError naming the entry and field on the first disagreement. */
export async function checkTocMatchesTarSplit(
  toc: Toc,
  headers: AsyncIterable<TarHeader>,
  opts: ConsistencyOptions = {},
): Promise<void> {
  const byName = new Map<string, TocEntry>();
  for (const e of toc.entries) {
    if (e.type === "chunk") continue;
    if (byName.has(e.name)) {
      throw new FormatError(`TOC contains duplicate entries for path ${JSON.stringify(e.name)}`);
    }
    byName.set(e.name, e);
  }
  for await (const hdr of headers) {
    const e = byName.get(hdr.name);
    if (e === undefined) {
      throw new FormatError(
        `tar-split and TOC data is inconsistent: tar-split contains an entry for ${JSON.stringify(hdr.name)} missing in TOC`,
      );
    }
    byName.delete(hdr.name);
    const diff = mismatch(e, hdr, opts);
    if (diff !== undefined) {
      throw new FormatError(
        `tar-split and TOC data is inconsistent for ${JSON.stringify(hdr.name)}: ${diff}`,
      );
    }
  }
  if (byName.size > 0) {
    const first = byName.keys().next().value as string;
    throw new FormatError(
      `TOC contains ${byName.size} entries not present in tar-split, e.g. ${JSON.stringify(first)}`,
    );
  }
}
