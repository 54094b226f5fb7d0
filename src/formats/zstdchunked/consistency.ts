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

// Most entries of a layer share one time: remember the last one parsed.
let lastText = "";
let lastTime: TarTime = { sec: 0, nsec: 0 };

function tocTime(s: string | undefined, what: string): TarTime | undefined {
  if (s === undefined || s === "") return undefined;
  if (s !== lastText) {
    lastTime = parseRfc3339(s, what);
    lastText = s;
  }
  return lastTime;
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
  const differ = (field: string, toc: unknown, tar: unknown) =>
    `${field}: TOC ${JSON.stringify(toc)}, tar-split ${JSON.stringify(tar)}`;
  if (e.type !== type) return differ("type", e.type, type);
  if (e.linkName !== hdr.linkname) return differ("linkName", e.linkName, hdr.linkname);
  if (e.mode !== hdr.mode) return differ("mode", e.mode, hdr.mode);
  if (e.size !== hdr.declaredSize) return differ("size", e.size, hdr.declaredSize);
  if (e.uid !== hdr.uid) return differ("uid", e.uid, hdr.uid);
  if (e.gid !== hdr.gid) return differ("gid", e.gid, hdr.gid);
  if (e.devMajor !== hdr.devmajor) return differ("devMajor", e.devMajor, hdr.devmajor);
  if (e.devMinor !== hdr.devminor) return differ("devMinor", e.devMinor, hdr.devminor);
  const time =
    differentTime("modtime", e.modtime, hdr.mtime) ??
    differentTime("accesstime", e.accesstime, hdr.atime) ??
    differentTime("changetime", e.changetime, hdr.ctime);
  if (time !== undefined) return time;
  if (e.xattrs === undefined && hdr.xattrs.size === 0) return undefined;
  if (!sameXattrs(e.xattrs, xattrsOf(hdr), opts.ignoreEmptyXattrs === true)) {
    return `xattrs: TOC ${JSON.stringify(e.xattrs ?? {})}, tar-split ${JSON.stringify(xattrsOf(hdr) ?? {})}`;
  }
  return undefined;
}

function differentTime(
  field: string,
  toc: string | undefined,
  tar: TarTime | undefined,
): string | undefined {
  if (sameInstant(tocTime(toc, field), tar)) return undefined;
  return `${field}: TOC ${toc ?? "unset"}, tar-split ${tar ? `${tar.sec}s+${tar.nsec}ns` : "unset"}`;
}

/** Walks the headers against the TOC; the same checks for a sync or an async header source. */
class Matcher {
  private readonly byName = new Map<string, TocEntry>();

  constructor(
    toc: Toc,
    private readonly opts: ConsistencyOptions,
  ) {
    for (const e of toc.entries) {
      if (e.type === "chunk") continue;
      if (this.byName.has(e.name)) {
        throw new FormatError(`TOC contains duplicate entries for path ${JSON.stringify(e.name)}`);
      }
      this.byName.set(e.name, e);
    }
  }

  visit(hdr: TarHeader): void {
    const e = this.byName.get(hdr.name);
    if (e === undefined) {
      throw new FormatError(
        `tar-split and TOC data is inconsistent: tar-split contains an entry for ${JSON.stringify(hdr.name)} missing in TOC`,
      );
    }
    this.byName.delete(hdr.name);
    const diff = mismatch(e, hdr, this.opts);
    if (diff !== undefined) {
      throw new FormatError(
        `tar-split and TOC data is inconsistent for ${JSON.stringify(hdr.name)}: ${diff}`,
      );
    }
  }

  finish(): void {
    if (this.byName.size > 0) {
      const first = this.byName.keys().next().value as string;
      throw new FormatError(
        `TOC contains ${this.byName.size} entries not present in tar-split, e.g. ${JSON.stringify(first)}`,
      );
    }
  }
}

/** Throws FormatError naming the entry and field on the first disagreement. */
export async function checkTocMatchesTarSplit(
  toc: Toc,
  headers: AsyncIterable<TarHeader> | Iterable<TarHeader>,
  opts: ConsistencyOptions = {},
): Promise<void> {
  if (Symbol.iterator in headers) return checkTocMatchesHeaders(toc, headers, opts);
  const m = new Matcher(toc, opts);
  for await (const hdr of headers) m.visit(hdr);
  m.finish();
}

/** checkTocMatchesTarSplit over headers already in memory: no await per header. */
export function checkTocMatchesHeaders(
  toc: Toc,
  headers: Iterable<TarHeader>,
  opts: ConsistencyOptions = {},
): void {
  const m = new Matcher(toc, opts);
  for (const hdr of headers) m.visit(hdr);
  m.finish();
}
