/**
 * Routing of /v2/ paths on the raw request path (never decoded or normalised, so `..` or
 * percent-encoded names reach the name grammar and get NAME_INVALID instead of a file path).
 */
import { isValidName } from "./names.js";

export type Route =
  | { kind: "ping" }
  | { kind: "catalog" }
  | { kind: "manifest"; repo: string; reference: string }
  | { kind: "blob"; repo: string; digest: string }
  | { kind: "upload"; repo: string; id: string | undefined }
  | { kind: "tags"; repo: string }
  | { kind: "name-invalid"; repo: string }
  | { kind: "not-found" };

const PATTERNS: Array<[RegExp, (m: RegExpExecArray) => Route]> = [
  [/^\/v2\/?$/, () => ({ kind: "ping" })],
  [/^\/v2\/_catalog$/, () => ({ kind: "catalog" })],
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: "tags", repo: m[1]! })],
  [
    /^\/v2\/(.+)\/blobs\/uploads\/?([^/]*)$/,
    (m) => ({ kind: "upload", repo: m[1]!, id: m[2] === "" ? undefined : m[2] }),
  ],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: "blob", repo: m[1]!, digest: m[2]! })],
  [
    /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    (m) => ({ kind: "manifest", repo: m[1]!, reference: m[2]! }),
  ],
];

export function route(path: string): Route {
  for (const [re, make] of PATTERNS) {
    const m = re.exec(path);
    if (!m) continue;
    const r = make(m);
    if ("repo" in r && !isValidName(r.repo)) return { kind: "name-invalid", repo: r.repo };
    return r;
  }
  return { kind: "not-found" };
}

/** The repository a route names, if any (for modes, stats and auth). */
export function routeRepo(r: Route): string | undefined {
  return "repo" in r && r.kind !== "name-invalid" ? r.repo : undefined;
}
