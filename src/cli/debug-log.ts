/**
 * `--debug`: one stderr line per HTTP request and answer, taken from undici's diagnostics
 * channels (so the registry code needs no logging hooks). Only the method, origin, path and
 * status are printed: never headers (Authorization) and never the query string (signed storage
 * URLs and token requests carry secrets or account names there). Range headers are summarised.
 */
import { subscribe } from "node:diagnostics_channel";
import { err } from "./terminal.js";

interface UndiciRequest {
  origin?: string | URL;
  method?: string;
  path?: string;
  headers?: string[] | string;
}

function target(r: UndiciRequest): string {
  const path = (r.path ?? "").split("?")[0];
  const query = (r.path ?? "").includes("?") ? "?…" : "";
  return `${r.method ?? "?"} ${String(r.origin ?? "")}${path}${query}`;
}

/** `bytes=0-9,20-29,...` -> `3 ranges`: the ranges are long and say little; the count helps. */
function rangeNote(r: UndiciRequest): string {
  const h = r.headers;
  const list = Array.isArray(h) ? h : typeof h === "string" ? h.split("\r\n") : [];
  for (let i = 0; i < list.length; i++) {
    const item = String(list[i]);
    if (Array.isArray(h) && item.toLowerCase() === "range") {
      return ` (${String(list[i + 1]).split(",").length} range(s))`;
    }
    const m = /^range:\s*(.*)$/i.exec(item);
    if (m) return ` (${m[1]!.split(",").length} range(s))`;
  }
  return "";
}

export function enableDebugLog(): void {
  const start = new WeakMap<object, number>();
  subscribe("undici:request:create", (msg) => {
    const { request } = msg as { request: UndiciRequest };
    start.set(request, Date.now());
    err(`chunkpull: debug: > ${target(request)}${rangeNote(request)}\n`);
  });
  subscribe("undici:request:headers", (msg) => {
    const { request, response } = msg as {
      request: UndiciRequest;
      response: { statusCode?: number };
    };
    const ms = Date.now() - (start.get(request) ?? Date.now());
    err(`chunkpull: debug: < ${response.statusCode} ${target(request)} (${ms} ms)\n`);
  });
  subscribe("undici:request:error", (msg) => {
    const { request, error } = msg as { request: UndiciRequest; error: Error };
    err(`chunkpull: debug: ! ${target(request)}: ${error?.message ?? error}\n`);
  });
}
