/**
 * containerd's registry host directories: `<dir>/<registry host>/hosts.toml` (falling back to
 * `<dir>/_default/hosts.toml`) names the upstream `server` and, in `[host."URL"]` tables tried in
 * file order, the mirrors with what they may do (`capabilities`: `pull` = content by digest,
 * `resolve` = tags), their TLS (`skip_verify`, `ca`, `client`) and whether the URL path is the
 * whole API root (`override_path`). Relative certificate paths are relative to the file.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { FormatError } from "../../errors.js";
import type { TlsOptions } from "../transport.js";

export const DEFAULT_HOSTS_DIR = "/etc/containerd/certs.d";

export interface HostsEntry {
  /** `scheme://host[:port]`. */
  origin: string;
  /** Path of the API root, e.g. `/v2` or `/mirror/project/v2`. */
  apiRoot: string;
  pull: boolean;
  resolve: boolean;
  tls?: TlsOptions;
}

export interface HostsConfig {
  /** The upstream itself when `server` names it (else the registry's usual endpoint). */
  server?: HostsEntry;
  /** Top-level TLS settings: they apply to the upstream. */
  serverTls?: TlsOptions;
  /** Mirrors in the order the file lists them. */
  hosts: HostsEntry[];
  source: string;
}

type Table = Record<string, unknown>;

function strings(v: unknown, what: string, where: string): string[] {
  if (v === undefined) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  throw new FormatError(`${where}: "${what}" must be a string or an array of strings`);
}

function readPem(path: string, base: string, where: string): Buffer {
  const full = isAbsolute(path) ? path : join(base, path);
  try {
    return readFileSync(full);
  } catch (e) {
    throw new FormatError(`${where}: cannot read ${full} (${(e as Error).message})`);
  }
}

function tlsOf(t: Table, base: string, where: string): TlsOptions | undefined {
  const tls: TlsOptions = {};
  if (t.skip_verify !== undefined) {
    if (typeof t.skip_verify !== "boolean")
      throw new FormatError(`${where}: "skip_verify" must be true or false`);
    if (t.skip_verify) tls.rejectUnauthorized = false;
  }
  const cas = strings(t.ca, "ca", where).map((p) => readPem(p, base, where));
  if (cas.length > 0) tls.ca = cas;
  // `client` is "cert", ["cert", "key"] or [["cert", "key"], ...]; the first pair is used.
  const client = t.client;
  if (client !== undefined) {
    const first = Array.isArray(client) && Array.isArray(client[0]) ? client[0] : client;
    const pair = strings(first, "client", where);
    if (pair.length === 0 || pair.length > 2)
      throw new FormatError(`${where}: "client" must name a certificate and optionally its key`);
    tls.cert = readPem(pair[0]!, base, where);
    tls.key = readPem(pair[1] ?? pair[0]!, base, where);
  }
  return Object.keys(tls).length > 0 ? tls : undefined;
}

function entryOf(url: string, t: Table, base: string, where: string): HostsEntry {
  let u: URL;
  try {
    u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `https://${url}`);
  } catch {
    throw new FormatError(`${where}: ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new FormatError(`${where}: ${url} must be http or https`);
  if (t.override_path !== undefined && typeof t.override_path !== "boolean")
    throw new FormatError(`${where}: "override_path" must be true or false`);
  let path = u.pathname.replace(/\/+$/, "");
  if (t.override_path !== true && !path.endsWith("/v2")) path += "/v2";
  const caps =
    t.capabilities === undefined
      ? ["pull", "resolve"]
      : strings(t.capabilities, "capabilities", where);
  for (const c of caps) {
    if (c !== "pull" && c !== "resolve" && c !== "push")
      throw new FormatError(`${where}: unknown capability ${JSON.stringify(c)}`);
  }
  const tls = tlsOf(t, base, where);
  return {
    origin: u.origin,
    apiRoot: path,
    pull: caps.includes("pull"),
    resolve: caps.includes("resolve"),
    ...(tls ? { tls } : {}),
  };
}

/** Parse one hosts.toml. */
export function parseHostsToml(text: string, path: string): HostsConfig {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (e) {
    throw new FormatError(`${path}: invalid TOML (${(e as Error).message.split("\n")[0]})`);
  }
  const base = dirname(path);
  if (doc.server !== undefined && typeof doc.server !== "string")
    throw new FormatError(`${path}: "server" must be a string`);
  const server =
    typeof doc.server === "string" ? entryOf(doc.server, doc, base, `${path} server`) : undefined;
  const serverTls = tlsOf(doc, base, `${path} (top level)`);
  const hostTable = doc.host ?? {};
  if (typeof hostTable !== "object" || hostTable === null || Array.isArray(hostTable))
    throw new FormatError(`${path}: "host" must be tables [host."URL"]`);
  const hosts = Object.entries(hostTable as Record<string, unknown>).map(([url, t]) => {
    if (typeof t !== "object" || t === null || Array.isArray(t))
      throw new FormatError(`${path}: [host.${JSON.stringify(url)}] must be a table`);
    return entryOf(url, t as Table, base, `${path} [host.${JSON.stringify(url)}]`);
  });
  return {
    ...(server ? { server } : {}),
    ...(serverTls ? { serverTls } : {}),
    hosts,
    source: path,
  };
}

/** `<dir>/<host>/hosts.toml`, else `<dir>/_default/hosts.toml`, else nothing. */
export function loadHostsDir(dir: string, registryHost: string): HostsConfig | undefined {
  for (const name of [registryHost, "_default"]) {
    const path = join(dir, name, "hosts.toml");
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw e;
    }
    return parseHostsToml(text, path);
  }
  return undefined;
}
