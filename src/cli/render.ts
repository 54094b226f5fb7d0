/** Human-readable renderings of library results. */
import type { PullResult } from "../pull/pull.js";

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function renderPullSummary(r: PullResult): string {
  const lines = [`pulled ${r.reference} (${r.manifestDigest})`];
  for (const l of r.layers) {
    const head = `  ${l.digest.slice(0, 19)} ${l.format.padEnd(12)} ${l.mode.padEnd(7)}`;
    if (l.mode === "cached") {
      lines.push(`${head} already in the store; verified by ${l.verified}`);
      continue;
    }
    const share =
      l.size > 0
        ? ` (${((100 * l.bytesFetched) / l.size).toFixed(1)}% of ${formatBytes(l.size)})`
        : "";
    const why =
      (l.fallbackReason ? `; full pull because: ${l.fallbackReason}` : "") +
      (l.trailingPadding
        ? `; the blob's tar lacked its end padding: ${l.trailingPadding} zero bytes restored, proven by the diff_id`
        : "");
    lines.push(
      `${head} fetched ${formatBytes(l.bytesFetched)}${share} in ${l.requests} request(s); files from store ${l.filesFromStore}/${l.filesTotal}; verified by ${l.verified}${why}`,
    );
  }
  lines.push(`total fetched ${formatBytes(r.bytesFetched)} in ${r.requests} request(s)`);
  return `${lines.join("\n")}\n`;
}
