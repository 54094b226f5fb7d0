/**
 * Path sanitising for TOC names (spec §3.5): c/storage's CleanAbsPath is filepath.Clean("/" + name),
 * which silently confines `..`. We apply the same cleaning, but refuse names whose `..` would
 * climb above the root: no legitimate layer needs them, and confining them silently could make
 * two different tar entries land on the same path.
 */
import { FormatError } from "../../errors.js";

/** Go filepath.Clean("/" + name): always absolute, no "." / "..", no duplicate or trailing "/". */
export function cleanAbsPath(name: string): string {
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/** cleanAbsPath, but a FormatError naming `what` when the name escapes the root or holds NUL. */
export function confinedPath(name: string, what: string): string {
  if (name.includes("\0")) throw new FormatError(`${what}: name contains a NUL byte`);
  let depth = 0;
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      depth--;
      if (depth < 0) {
        throw new FormatError(`${what}: name ${JSON.stringify(name)} escapes the layer root`);
      }
    } else depth++;
  }
  return cleanAbsPath(name);
}
