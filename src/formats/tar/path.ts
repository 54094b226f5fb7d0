/**
 * Go's path.Clean (also filepath.Clean on Unix), used for tar-split's duplicate-path rule and
 * for naming PAX header blocks like Go's writer. Works on any string; to get byte semantics for
 * non-UTF-8 names pass a latin1-decoded string ('/' and '.' are ASCII either way).
 */
export function goCleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const s = (rooted ? "/" : "") + out.join("/");
  return s === "" ? "." : s;
}
