/**
 * Rules over a layer's whole entry list that no single entry can break on its own, shared by
 * the zstd:chunked and eStargz TOC readers. Each one closes a way a layer could reach outside
 * the directory it is extracted into, or refer to something it does not contain:
 * - nothing may lie under an entry of the same layer that is not a directory: a symlink `a -> /`
 *   followed by `a/etc/passwd` writes through the link when extracted (symlink-then-file);
 * - the layer root itself (`/`, `./`) must be a directory when the layer lists it;
 * - a hard link must name another entry of the same layer that is not a directory (a link to
 *   a missing target would pick up whatever the extracting side has at that path).
 * Names arrive already confined (no `..` above the root); leading `/` is ignored.
 */
import { FormatError } from "../errors.js";

export interface TreeEntry {
  /** The cleaned entry name (`a/b` or `/a/b`). */
  name: string;
  /** "dir", "reg", "symlink", "hardlink", "char", "block", "fifo". */
  type: string;
  /** The cleaned hard link target (only read for hard links). */
  linkName?: string;
}

/** The name without leading and trailing slashes (a scan: this runs for every entry). */
function key(name: string): string {
  let start = 0;
  let end = name.length;
  while (start < end && name.charCodeAt(start) === 0x2f) start++;
  while (end > start && name.charCodeAt(end - 1) === 0x2f) end--;
  return start === 0 && end === name.length ? name : name.slice(start, end);
}

/**
 * Throws a FormatError naming the offending entry (`what` names the TOC). Order does not
 * matter: an entry under a symlink listed later is as bad as one listed after it, and a hard
 * link's target may come anywhere in the layer (eStargz writers that reorder for prefetch did
 * not always keep targets first; the upstream readers only require that the target exists).
 */
export function checkLayerTree(entries: Iterable<TreeEntry>, what: string): void {
  const list = Array.isArray(entries) ? (entries as TreeEntry[]) : [...entries];
  // path -> type for every entry ("" is the root).
  const types = new Map<string, string>();
  for (const e of list) {
    const path = key(e.name);
    if (path === "" && e.type !== "dir") {
      throw new FormatError(`${what}: the layer root ${JSON.stringify(e.name)} is a ${e.type}`);
    }
    types.set(path, e.type);
  }
  for (const e of list) {
    const path = key(e.name);
    // Every proper ancestor the layer lists must be a directory.
    for (let i = path.indexOf("/"); i !== -1; i = path.indexOf("/", i + 1)) {
      const parent = path.slice(0, i);
      const t = types.get(parent);
      if (t !== undefined && t !== "dir") {
        throw new FormatError(
          `${what}: ${JSON.stringify(e.name)} lies under ${JSON.stringify(parent)}, a ${t} of the same layer`,
        );
      }
    }
    if (e.type !== "hardlink") continue;
    const target = key(e.linkName ?? "");
    const t = types.get(target);
    if (t === undefined) {
      throw new FormatError(
        `${what}: hard link ${JSON.stringify(e.name)} points at ${JSON.stringify(e.linkName)}, which is not in the layer`,
      );
    }
    if (t === "dir" || target === path) {
      throw new FormatError(
        `${what}: hard link ${JSON.stringify(e.name)} points at ${target === path ? "itself" : `the directory ${JSON.stringify(e.linkName)}`}`,
      );
    }
  }
}
