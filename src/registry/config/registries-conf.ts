/**
 * containers `registries.conf` (version 2, the TOML podman, skopeo and buildah read): which
 * registries are blocked or insecure, where a name prefix really lives (`location`), and the
 * mirrors to try first. The main file plus `registries.conf.d/*.conf` drop-ins, merged the way
 * containers/image merges them: a drop-in's `[[registry]]` replaces the entry with the same
 * prefix, scalar keys replace earlier values, files load in name order.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { FormatError } from "../../errors.js";

/** all: tags and digests; digest-only: never asked for a tag; tag-only: only for pulls by tag. */
export type PullFromMirror = "all" | "digest-only" | "tag-only";

export interface ConfMirror {
  /** `host[:port][/namespace]`, no scheme. */
  location: string;
  insecure: boolean;
  pullFromMirror: PullFromMirror;
}

export interface ConfRegistry {
  /** `host[/path]` or `*.domain`; matched at path-component boundaries. */
  prefix: string;
  /** Where the prefix really lives (same as prefix when not given). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: ConfMirror[];
  /** Only use the mirrors for pulls by digest (the older, registry-wide switch). */
  mirrorByDigestOnly: boolean;
}

export interface RegistriesConf {
  registries: ConfRegistry[];
  /** Registries tried for names without a host; undefined when no file set the key. */
  unqualifiedSearchRegistries?: string[];
  /** Files read, in order (for messages and `--json` diagnostics). */
  sources: string[];
}

export function emptyRegistriesConf(): RegistriesConf {
  return { registries: [], sources: [] };
}

type Table = Record<string, unknown>;

function str(t: Table, key: string, where: string): string | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new FormatError(`${where}: "${key}" must be a string`);
  return v;
}

function bool(t: Table, key: string, where: string): boolean {
  const v = t[key];
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new FormatError(`${where}: "${key}" must be true or false`);
  return v;
}

function tables(t: Table, key: string, where: string): Table[] {
  const v = t[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "object" || x === null || Array.isArray(x)))
    throw new FormatError(`${where}: "${key}" must be an array of tables ([[${key}]])`);
  return v as Table[];
}

function stripScheme(location: string, where: string): string {
  if (/^[a-z]+:\/\//i.test(location))
    throw new FormatError(`${where}: location ${JSON.stringify(location)} must not have a scheme`);
  return location.replace(/\/+$/, "");
}

function parseMirror(t: Table, where: string): ConfMirror {
  const location = str(t, "location", where);
  if (!location) throw new FormatError(`${where}: a mirror needs a "location"`);
  const pull = str(t, "pull-from-mirror", where) ?? "all";
  if (pull !== "all" && pull !== "digest-only" && pull !== "tag-only")
    throw new FormatError(
      `${where}: "pull-from-mirror" must be all, digest-only or tag-only, not ${JSON.stringify(pull)}`,
    );
  return {
    location: stripScheme(location, where),
    insecure: bool(t, "insecure", where),
    pullFromMirror: pull,
  };
}

function parseRegistry(t: Table, where: string): ConfRegistry {
  const location = str(t, "location", where);
  const prefix = str(t, "prefix", where) ?? location;
  if (!prefix) throw new FormatError(`${where}: a [[registry]] needs a "prefix" or a "location"`);
  if (prefix.startsWith("*.") && location)
    throw new FormatError(`${where}: a wildcard prefix ${prefix} cannot have a location`);
  const byDigestOnly = bool(t, "mirror-by-digest-only", where);
  const mirrors = tables(t, "mirror", where).map((m, i) =>
    parseMirror(m, `${where} mirror ${i + 1}`),
  );
  return {
    prefix: stripScheme(prefix, where),
    location: stripScheme(location ?? prefix, where),
    insecure: bool(t, "insecure", where),
    blocked: bool(t, "blocked", where),
    mirrors: byDigestOnly
      ? mirrors.map((m) => ({ ...m, pullFromMirror: "digest-only" as const }))
      : mirrors,
    mirrorByDigestOnly: byDigestOnly,
  };
}

/** Parse one file's text (`path` only names it in errors). */
export function parseRegistriesConf(text: string, path: string): RegistriesConf {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (e) {
    throw new FormatError(`${path}: invalid TOML (${(e as Error).message.split("\n")[0]})`);
  }
  if (doc.registries !== undefined && !Array.isArray(doc.registries))
    return fromVersion1(doc.registries, path);
  const search = doc["unqualified-search-registries"];
  if (search !== undefined && (!Array.isArray(search) || search.some((s) => typeof s !== "string")))
    throw new FormatError(`${path}: "unqualified-search-registries" must be an array of strings`);
  return {
    registries: tables(doc, "registry", path).map((r, i) =>
      parseRegistry(r, `${path} [[registry]] ${i + 1}`),
    ),
    ...(search === undefined ? {} : { unqualifiedSearchRegistries: search as string[] }),
    sources: [path],
  };
}

/**
 * Version 1 (`[registries.search]`, `[registries.insecure]`, `[registries.block]`, each with a
 * `registries` list), as older distributions still ship it: mapped onto version 2.
 */
function fromVersion1(v1: unknown, path: string): RegistriesConf {
  if (typeof v1 !== "object" || v1 === null)
    throw new FormatError(`${path}: "registries" must be a table`);
  const list = (key: string): string[] => {
    const t = (v1 as Table)[key];
    if (t === undefined) return [];
    const r = typeof t === "object" && t !== null ? (t as Table).registries : undefined;
    if (!Array.isArray(r) || r.some((x) => typeof x !== "string"))
      throw new FormatError(`${path}: [registries.${key}] needs a "registries" list of strings`);
    return (r as string[]).map((x) => stripScheme(x, path));
  };
  const search = list("search");
  const byHost = new Map<string, ConfRegistry>();
  const entry = (host: string): ConfRegistry => {
    const e = byHost.get(host) ?? {
      prefix: host,
      location: host,
      insecure: false,
      blocked: false,
      mirrors: [],
      mirrorByDigestOnly: false,
    };
    byHost.set(host, e);
    return e;
  };
  for (const h of list("insecure")) entry(h).insecure = true;
  for (const h of list("block")) entry(h).blocked = true;
  return {
    registries: [...byHost.values()],
    ...(search.length > 0 ? { unqualifiedSearchRegistries: search } : {}),
    sources: [path],
  };
}

/** Later wins: same prefix replaces, new prefixes are appended, a set search list replaces. */
export function mergeRegistriesConf(base: RegistriesConf, next: RegistriesConf): RegistriesConf {
  const registries = [...base.registries];
  for (const r of next.registries) {
    const i = registries.findIndex((x) => x.prefix === r.prefix);
    if (i === -1) registries.push(r);
    else registries[i] = r;
  }
  const search = next.unqualifiedSearchRegistries ?? base.unqualifiedSearchRegistries;
  return {
    registries,
    ...(search === undefined ? {} : { unqualifiedSearchRegistries: search }),
    sources: [...base.sources, ...next.sources],
  };
}

export interface RegistriesConfPaths {
  /** Main files in preference order: the first that exists is read. */
  files: string[];
  /** Drop-in directories, all read; a user file replaces a system one of the same name. */
  dropInDirs: string[];
}

/**
 * The paths containers/image reads: `$CONTAINERS_REGISTRIES_CONF` alone when set; otherwise the
 * user's `~/.config/containers/registries.conf` instead of `/etc/containers/registries.conf`
 * when it exists, and drop-ins from both `registries.conf.d` directories.
 */
export function defaultRegistriesConfPaths(
  env: NodeJS.ProcessEnv = process.env,
): RegistriesConfPaths {
  if (env.CONTAINERS_REGISTRIES_CONF)
    return { files: [env.CONTAINERS_REGISTRIES_CONF], dropInDirs: [] };
  const configHome = env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), ".config");
  return {
    files: [join(configHome, "containers/registries.conf"), "/etc/containers/registries.conf"],
    dropInDirs: [
      "/etc/containers/registries.conf.d",
      join(configHome, "containers/registries.conf.d"),
    ],
  };
}

/** An explicitly named file is read with its own `FILE.d/` drop-ins, and nothing else. */
export function explicitRegistriesConfPaths(file: string): RegistriesConfPaths {
  return { files: [file], dropInDirs: [`${file}.d`] };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Read and merge; missing files and directories are simply absent. `required` must exist. */
export function loadRegistriesConf(paths: RegistriesConfPaths, required?: string): RegistriesConf {
  let conf = emptyRegistriesConf();
  for (const file of paths.files) {
    const text = readIfExists(file);
    if (text === undefined) {
      if (file === required) throw new FormatError(`${file}: no such registries.conf`);
      continue;
    }
    conf = mergeRegistriesConf(conf, parseRegistriesConf(text, file));
    break;
  }
  const dropIns = new Map<string, string>();
  for (const dir of paths.dropInDirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir))
      if (name.endsWith(".conf")) dropIns.set(name, join(dir, name));
  }
  for (const name of [...dropIns.keys()].sort()) {
    const path = dropIns.get(name)!;
    conf = mergeRegistriesConf(conf, parseRegistriesConf(readFileSync(path, "utf8"), path));
  }
  return conf;
}

/** The `[[registry]]` whose prefix matches `name` (`registry/repository`) best, if any. */
export function findRegistry(conf: RegistriesConf, name: string): ConfRegistry | undefined {
  let best: ConfRegistry | undefined;
  let bestLength = -1;
  const host = name.split("/")[0]!;
  for (const r of conf.registries) {
    let length = -1;
    if (r.prefix.startsWith("*.")) {
      // `*.example.com` matches sub-domains only, and ranks below any literal prefix.
      if (host.endsWith(r.prefix.slice(1))) length = 0;
    } else if (name === r.prefix || name.startsWith(`${r.prefix}/`)) {
      length = r.prefix.length;
    }
    if (length > bestLength) {
      best = r;
      bestLength = length;
    }
  }
  return best;
}
