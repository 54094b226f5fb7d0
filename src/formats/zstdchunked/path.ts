/**
 * Path sanitising for TOC names (spec §3.5): c/storage's CleanAbsPath is filepath.Clean("/" + name),
 * which silently confines `..`. We apply the same cleaning, but refuse names whose `..` would
 * climb above the root: no legitimate layer needs them, and confining them silently could make
 * two different tar entries land on the same path.
 */
import { FormatError } from "../../errors.js";

/**
 * The cleaned form of a name that needs no segment dropped (no empty, `.` or `..` segment
 * except one leading and one trailing `/`), which is nearly every name a writer emits; else
 * undefined. One scan, no split.
 */
function alreadyClean(name: string): string | undefined {
  const n = name.length;
  const start = name.charCodeAt(0) === 0x2f ? 1 : 0;
  const end = n > start && name.charCodeAt(n - 1) === 0x2f ? n - 1 : n;
  let seg = start;
  for (let i = start; i <= end; i++) {
    if (i < end && name.charCodeAt(i) !== 0x2f) continue;
    const len = i - seg;
    if (len === 0 && end > start) return undefined; // "a//b" (or a lone "/" segment)
    if (
      name.charCodeAt(seg) === 0x2e &&
      (len === 1 || (len === 2 && name.charCodeAt(seg + 1) === 0x2e))
    )
      return undefined; // "." or ".."
    seg = i + 1;
  }
  if (end <= start) return "/";
  return start === 1 && end === n ? name : `/${name.slice(start, end)}`;
}

/** Go filepath.Clean("/" + name): always absolute, no "." / "..", no duplicate or trailing "/". */
export function cleanAbsPath(name: string): string {
  const fast = alreadyClean(name);
  if (fast !== undefined) return fast;
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/**
 * cleanAbsPath, but a FormatError naming `what` when the name escapes the root or holds NUL.
 * `what` may be a function: the context is then built only for the error.
 */
export function confinedPath(name: string, what: string | (() => string)): string {
  const fast = alreadyClean(name);
  if (fast !== undefined && !name.includes("\0")) return fast;
  const label = () => (typeof what === "string" ? what : what());
  if (name.includes("\0")) throw new FormatError(`${label()}: name contains a NUL byte`);
  let depth = 0;
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      depth--;
      if (depth < 0) {
        throw new FormatError(`${label()}: name ${JSON.stringify(name)} escapes the layer root`);
      }
    } else depth++;
  }
  return cleanAbsPath(name);
}
