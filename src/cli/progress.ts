/**
 * Pull progress on stderr, built on the library's onProgress events. On a terminal: one line per
 * layer in flight, redrawn in place (phase plan/fetch/rebuild+verify/done, bytes fetched of bytes needed,
 * of the full size, rate, ETA). Elsewhere (a pipe, a log file): plain lines at phase changes and
 * at most one fetch line per layer every PLAIN_EVERY_MS, never one per MiB.
 */
import type { ProgressEvent } from "../pull/types.js";
import { formatBytes } from "./render.js";
import { ansi, err } from "./terminal.js";

export type ProgressMode = "tty" | "plain" | "none";

const REDRAW_MS = 100;
const PLAIN_EVERY_MS = 10_000;

type Phase = "start" | "plan" | "fetch" | "rebuild+verify" | "done" | "cached";

interface LayerLine {
  digest: string;
  size?: number;
  phase: Phase;
  fetched: number;
  total?: number;
  full: boolean;
  fetchStart?: number;
  /** Bytes already in at fetchStart (the first event's), so the rate counts only what came after. */
  fetchStartBytes: number;
  lastPlain: number;
}

/** `sha256:0123456789ab` (12 hex digits): enough to tell layers apart on one line. */
export function shortDigest(d: string): string {
  const i = d.indexOf(":");
  return i > 0 ? d.slice(0, i + 13) : d.slice(0, 19);
}

function shortenDigests(text: string): string {
  return text.replace(/(sha256|sha512):([0-9a-f]{12})[0-9a-f]{52,116}/g, "$1:$2");
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60
    ? `${m}m${String(Math.ceil(seconds % 60)).padStart(2, "0")}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export class ProgressView {
  private readonly layers = new Map<string, LayerLine>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;

  constructor(
    private readonly mode: ProgressMode,
    private readonly color: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** The onProgress callback for `pull()`; undefined when progress is off. */
  get listener(): ((e: ProgressEvent) => void) | undefined {
    return this.mode === "none" ? undefined : (e) => this.onEvent(e);
  }

  private line(digest: string): LayerLine {
    let l = this.layers.get(digest);
    if (!l) {
      l = { digest, phase: "start", fetched: 0, full: false, fetchStartBytes: 0, lastPlain: 0 };
      this.layers.set(digest, l);
    }
    return l;
  }

  onEvent(e: ProgressEvent): void {
    if (!e.layer) {
      this.static(shortenDigests(e.message));
      return;
    }
    const l = this.line(e.layer);
    const before = l.phase;
    switch (e.kind) {
      case "layer-start":
        if (e.size !== undefined) l.size = e.size;
        break;
      case "plan":
        l.phase = "plan";
        if (e.bytesTotal !== undefined) l.total = e.bytesTotal;
        break;
      case "fallback":
        l.full = true;
        l.total = l.size;
        break;
      case "fetch":
        l.fetched = e.bytesFetched ?? l.fetched;
        if (l.phase !== "fetch") {
          l.phase = "fetch";
          l.fetchStart = this.now();
          l.fetchStartBytes = l.fetched;
        }
        if (e.bytesTotal !== undefined) l.total = e.bytesTotal;
        break;
      case "verify":
        l.phase = "rebuild+verify";
        break;
      case "layer-done":
        l.phase = before === "start" ? "cached" : "done";
        break;
    }
    if (this.mode === "tty") this.schedule();
    else this.plain(l, e, before);
  }

  private plain(l: LayerLine, e: ProgressEvent, before: Phase): void {
    if (e.kind === "fetch") {
      const t = this.now();
      // The first fetch line says the phase started; then one line per interval.
      if (before === "fetch" && t - l.lastPlain < PLAIN_EVERY_MS) return;
      l.lastPlain = t;
      err(`${this.describe(l)}\n`);
      return;
    }
    if (e.kind === "layer-start") return; // the plan (or cached) line follows at once
    err(`${shortenDigests(e.message)}\n`);
  }

  private describe(l: LayerLine): string {
    const head = `${shortDigest(l.digest)} ${(l.phase === "start" ? "plan" : l.phase).padEnd(14)}`;
    const phase = (s: string) =>
      l.phase === "done" || l.phase === "cached" ? ansi.green(s, this.color) : s;
    if (l.phase === "cached") return phase(`${head} already in the store`);
    const parts: string[] = [];
    const need = l.total;
    if (l.phase === "fetch" || l.phase === "rebuild+verify" || l.phase === "done") {
      parts.push(
        need !== undefined
          ? `${formatBytes(l.fetched)} of ${formatBytes(need)}${l.full ? "" : " needed"}`
          : formatBytes(l.fetched),
      );
    } else if (need !== undefined) parts.push(`${formatBytes(need)} needed`);
    if (l.size !== undefined && !l.full) parts.push(`of ${formatBytes(l.size)} full`);
    if (l.phase === "fetch" && need) {
      parts.push(`${((100 * l.fetched) / need).toFixed(0)}%`);
      const secs = (this.now() - (l.fetchStart ?? this.now())) / 1000;
      if (secs > 0.5 && l.fetched > l.fetchStartBytes) {
        const rate = (l.fetched - l.fetchStartBytes) / secs;
        parts.push(`${formatBytes(rate)}/s`, `ETA ${duration((need - l.fetched) / rate)}`);
      }
    }
    return phase(`${head} ${parts.join(", ")}`.trimEnd());
  }

  /** A line that is not a layer's: printed above the layer block. */
  private static(text: string): void {
    if (this.mode === "tty") {
      this.clear();
      err(`${text}\n`);
      this.redraw();
    } else err(`${text}\n`);
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.dirty) this.redraw();
    }, REDRAW_MS);
  }

  private clear(): void {
    if (this.drawn > 0) err(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  /**
   * Finished layers are written once above the block and leave it; only layers in flight are
   * redrawn, so the block stays as small as the layer concurrency however many layers there are.
   */
  private redraw(): void {
    this.dirty = false;
    const cols = process.stderr.columns || 120;
    const fit = (s: string) => (s.length > cols - 1 ? `${s.slice(0, cols - 2)}…` : s);
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A\x1b[J` : "";
    let active = 0;
    for (const [digest, l] of this.layers) {
      if (l.phase !== "done" && l.phase !== "cached") continue;
      // Never wrap: a wrapped line would break the cursor arithmetic.
      text += `\x1b[2K${fit(this.describe(l))}\n`;
      this.layers.delete(digest);
    }
    for (const l of this.layers.values()) {
      text += `\x1b[2K${fit(this.describe(l))}\n`;
      active++;
    }
    this.drawn = active;
    err(text);
  }

  /** Final state of every layer, then the closing line. */
  finish(closing?: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.mode === "tty") this.redraw();
    if (closing && this.mode !== "none") err(`${closing}\n`);
  }

  /** Stop redrawing (the pull failed or was interrupted). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.mode === "tty" && this.drawn > 0) this.redraw();
  }
}

/** `--progress auto`: a redrawn block on a terminal, plain lines elsewhere. */
export function progressMode(option: string | undefined, quiet: boolean): ProgressMode {
  if (quiet) return "none";
  if (option === "tty" || option === "plain" || option === "none") return option;
  return process.stderr.isTTY ? "tty" : "plain";
}
