/**
 * The pull bench's results: medians per (link, format, scenario, tool) over the rounds, the
 * issue's targets as ratios (and by how much each is missed), written as JSON, a Markdown table
 * and an SVG bar chart.
 */
import { median } from "./measure.js";

export interface Sample {
  round: number;
  link: string;
  format: string;
  scenario: string;
  tool: string;
  wall: number;
  cpu: number;
  rssMiB: number;
  bytes: number;
  requests: number;
  ideal?: number;
  ok: boolean;
  error?: string;
}

export interface Row {
  link: string;
  format: string;
  scenario: string;
  tool: string;
  runs: number;
  failed: number;
  wall: number;
  cpu: number;
  rssMiB: number;
  bytes: number;
  requests: number;
  ideal?: number;
}

export interface Target {
  name: string;
  ratio: number;
  limit: number;
  met: boolean;
  /** How far over the limit, as a fraction (0.4 = 40% over). */
  missedBy: number;
}

export function aggregate(samples: Sample[]): Row[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = [s.link, s.format, s.scenario, s.tool].join("\0");
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  return [...groups.values()].map((g) => {
    const ok = g.filter((s) => s.ok);
    const first = g[0]!;
    return {
      link: first.link,
      format: first.format,
      scenario: first.scenario,
      tool: first.tool,
      runs: g.length,
      failed: g.length - ok.length,
      wall: median(ok.map((s) => s.wall)),
      cpu: median(ok.map((s) => s.cpu)),
      rssMiB: Math.max(0, ...ok.map((s) => s.rssMiB)),
      bytes: median(ok.map((s) => s.bytes)),
      requests: median(ok.map((s) => s.requests)),
      ...(first.ideal !== undefined ? { ideal: first.ideal } : {}),
    };
  });
}

const CP = "chunkpull";
const CS = "skopeo containers-storage";
const LIMIT = "curl | decompress | sha256sum";

export function targets(rows: Row[], updateShares: number[]): Target[] {
  const find = (format: string, scenario: string, tool: string, link = "loopback") =>
    rows.find(
      (r) =>
        r.link === link &&
        r.format === format &&
        r.scenario === scenario &&
        r.tool === tool &&
        r.failed < r.runs,
    );
  const out: Target[] = [];
  const add = (name: string, a: number | undefined, b: number | undefined, limit: number) => {
    if (a === undefined || b === undefined || !(b > 0)) return;
    const ratio = a / b;
    out.push({ name, ratio, limit, met: ratio <= limit, missedBy: Math.max(0, ratio / limit - 1) });
  };
  const ZC = "zstd:chunked";
  const OLD = "zstd:chunked (c/storage layout)";
  for (const share of updateShares) {
    const sc = `update ${share}%`;
    const cp = find(ZC, sc, CP)?.wall;
    const lim = share === 5 ? 1.0 : 0.5;
    add(`${sc}: chunkpull / skopeo partial pull (old layout)`, cp, find(OLD, sc, CS)?.wall, lim);
    add(`${sc}: chunkpull / zstd -d | sha256sum of the blob`, cp, find(ZC, sc, LIMIT)?.wall, 1.5);
    for (const f of [ZC, OLD]) {
      const r = find(f, sc, CP);
      add(`${sc}, ${f}: bytes / ideal`, r?.bytes, r?.ideal, 1.02);
    }
  }
  const cold = find(ZC, "cold", CP)?.wall;
  add("cold: chunkpull / curl | zstd -d | sha256sum", cold, find(ZC, "cold", LIMIT)?.wall, 2);
  add("cold: chunkpull / skopeo into containers-storage", cold, find(ZC, "cold", CS)?.wall, 0.5);
  const rss = Math.max(0, ...rows.filter((r) => r.tool === CP).map((r) => r.rssMiB));
  if (rss > 0) add("chunkpull peak RSS MiB / 256", rss, 256, 1);
  return out;
}

export function describeTarget(t: Target): string {
  const verdict = t.met ? "met" : `MISSED by ${(t.missedBy * 100).toFixed(0)}%`;
  return `${t.name}: ${t.ratio.toFixed(2)} (target <= ${t.limit}) ${verdict}`;
}

/** A Markdown table cell: a tool named after a shell pipeline must not split the row. */
const cell = (s: string) => s.replace(/\|/g, "\\|");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "-");
const mb = (n: number) => (Number.isFinite(n) ? (n / 1e6).toFixed(1) : "-");

export function markdown(rows: Row[], tg: Target[], header: string): string {
  const lines = [header, ""];
  for (const link of [...new Set(rows.map((r) => r.link))]) {
    lines.push(`### ${link}`, "");
    lines.push(
      "| format | scenario | tool | wall s | CPU s | peak RSS MiB | MB sent | ideal MB | requests | runs |",
      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const r of rows.filter((x) => x.link === link)) {
      const fail = r.failed ? ` (${r.failed} failed)` : "";
      lines.push(
        `| ${r.format} | ${r.scenario} | ${cell(r.tool)} | ${f2(r.wall)} | ${f2(r.cpu)} | ${r.rssMiB.toFixed(0)} | ${mb(r.bytes)} | ${r.ideal !== undefined ? mb(r.ideal) : ""} | ${Number.isFinite(r.requests) ? r.requests : "-"} | ${r.runs}${fail} |`,
      );
    }
    lines.push("");
  }
  lines.push("### Targets (loopback, medians)", "");
  for (const t of tg) lines.push(`- ${describeTarget(t)}`);
  return `${lines.join("\n")}\n`;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f", "#9467bd"];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Wall time per scenario and tool, one group of bars per (format, scenario), for one link. */
export function svgChart(rows: Row[], link: string): string {
  const mine = rows.filter((r) => r.link === link && Number.isFinite(r.wall));
  const tools = [...new Set(mine.map((r) => r.tool))];
  const groups = [...new Set(mine.map((r) => `${r.format} | ${r.scenario}`))];
  const max = Math.max(0.01, ...mine.map((r) => r.wall));
  const barH = 9;
  const groupH = tools.length * barH + 10;
  const left = 300;
  const width = 900;
  const plotW = width - left - 60;
  const top = 40;
  const height = top + groups.length * groupH + 20 + tools.length * 16;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<title>Pull wall time (s, median), ${esc(link)}</title>`,
    `<text x="10" y="20" font-size="14">Pull wall time (s, median), ${esc(link)}</text>`,
  ];
  groups.forEach((g, gi) => {
    const y0 = top + gi * groupH;
    parts.push(`<text x="${left - 6}" y="${y0 + groupH / 2}" text-anchor="end">${esc(g)}</text>`);
    tools.forEach((t, ti) => {
      const r = mine.find((x) => `${x.format} | ${x.scenario}` === g && x.tool === t);
      if (!r) return;
      const w = Math.max(1, (r.wall / max) * plotW);
      const y = y0 + ti * barH;
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 1}" fill="${COLORS[ti % COLORS.length]}"/>`,
        `<text x="${left + w + 4}" y="${y + barH - 1}" font-size="9">${r.wall.toFixed(2)}</text>`,
      );
    });
  });
  const ly = top + groups.length * groupH + 10;
  tools.forEach((t, ti) => {
    parts.push(
      `<rect x="${left}" y="${ly + ti * 16}" width="12" height="12" fill="${COLORS[ti % COLORS.length]}"/>`,
      `<text x="${left + 18}" y="${ly + ti * 16 + 10}">${esc(t)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
