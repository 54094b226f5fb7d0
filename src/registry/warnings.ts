/**
 * Registry `Warning: 299 - "text"` headers (distribution-spec "Warnings"): surfaced once per
 * distinct text through a callback, never acted upon.
 */
import { headerList, type Layer } from "./http.js";

const WARNING = /^\s*299\s+\S+\s+"((?:[^"\\]|\\.)*)"/;

/** The texts of all warn-code 299 warnings in a header value list. */
export function parseWarnings(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    // Several warnings may share one header line, separated by commas outside quotes.
    for (const part of v.match(/\s*299\s+\S+\s+"(?:[^"\\]|\\.)*"[^,]*/g) ?? []) {
      const m = WARNING.exec(part);
      if (m) out.push(m[1]!.replace(/\\(.)/g, "$1"));
    }
  }
  return out;
}

export function warningLayer(onWarning: (text: string) => void): Layer {
  const seen = new Set<string>();
  return (next) => async (req) => {
    const res = await next(req);
    for (const text of parseWarnings(headerList(res, "warning"))) {
      if (seen.has(text)) continue;
      seen.add(text);
      onWarning(text);
    }
    return res;
  };
}
