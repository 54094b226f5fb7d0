/** Human-readable renderings of library results. */
import type { PullResult } from "../pull/pull.js";

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : "0%";
}

/** `fetched 1.19 MiB of 11.9 MiB (10.0%); saved 10.7 MiB`: the pull's closing line. */
export function savedLine(r: PullResult): string {
  const full = r.layers.reduce((n, l) => n + l.size, 0);
  const saved = Math.max(0, full - r.bytesFetched);
  return `fetched ${formatBytes(r.bytesFetched)} of ${formatBytes(full)} (${percent(r.bytesFetched, full)}) in ${r.requests} request(s); saved ${formatBytes(saved)}`;
}

export function renderPullSummary(r: PullResult): string {
  const lines = [`pulled ${r.reference} (${r.manifestDigest}, ${r.platform})`];
  r.layers.forEach((l, i) => {
    lines.push(`  layer ${i + 1}/${r.layers.length} diff_id ${l.diffId}`);
    const head = `    blob ${l.digest.slice(0, 19)} ${l.format} ${l.mode}:`;
    if (l.mode === "cached") {
      lines.push(`${head} already in the store, verified by ${l.verified}`);
      return;
    }
    const share =
      l.size > 0 ? ` (${percent(l.bytesFetched, l.size)} of ${formatBytes(l.size)})` : "";
    const files =
      l.mode === "partial" ? `; files from store ${l.filesFromStore}/${l.filesTotal}` : "";
    const why =
      (l.fallbackReason ? `; full pull because: ${l.fallbackReason}` : "") +
      (l.trailingPadding
        ? `; the blob's tar lacked its end padding: ${l.trailingPadding} zero bytes restored, proven by the diff_id`
        : "");
    lines.push(
      `${head} fetched ${formatBytes(l.bytesFetched)}${share} in ${l.requests} request(s)${files}; verified by ${l.verified}${why}`,
    );
  });
  lines.push(savedLine(r));
  return `${lines.join("\n")}\n`;
}
