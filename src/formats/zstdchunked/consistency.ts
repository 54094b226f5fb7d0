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

function sameXattrs(a: Record<string, string> | undefined, b: Record<string, string> | undefined) {
  const ka = a ? Object.keys(a) : [];
  const kb = b ? Object.keys(b) : [];
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b!, k) && b![k] === a![k]);
}

/** The first field where the TOC entry and the header disagree, or undefined. */
function mismatch(e: TocEntry, hdr: TarHeader): string | undefined {
  const pairs: Array<[string, unknown, unknown]> = [
    ["type", e.type, tocTypeOf(hdr)],
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
  if (!sameXattrs(e.xattrs, xattrsOf(hdr))) return "xattrs differ";
  return undefined;
}

/** Throws FormatError naming the entry and field on the first disagreement. */
export async function checkTocMatchesTarSplit(
  toc: Toc,
  headers: AsyncIterable<TarHeader>,
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
    const diff = mismatch(e, hdr);
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
