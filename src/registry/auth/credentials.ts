/**
 * Where credentials come from, in the order podman and docker agree on: explicit options,
 * then `$REGISTRY_AUTH_FILE`, containers `auth.json` (`$XDG_RUNTIME_DIR/containers/auth.json`,
 * `~/.config/containers/auth.json`), then `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`. Each file may hold inline `auths`, per-registry `credHelpers` or a
 * default `credsStore` (both run `docker-credential-<name> get`). Credentials are never logged.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { FormatError } from "../../errors.js";
import { DOCKER_HUB, normalizeRegistry } from "../../reference.js";

export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (`identitytoken` in config.json). */
  identityToken?: string;
  /** A ready bearer token (`registrytoken`). */
  registryToken?: string;
  /** Where these came from (`--creds`, `auth file PATH`...): named in 401 errors, never secret. */
  source?: string;
}

export interface AuthFile {
  auths?: Record<
    string,
    {
      auth?: string;
      username?: string;
      password?: string;
      identitytoken?: string;
      registrytoken?: string;
    }
  >;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

export type HelperRunner = (helper: string, serverUrl: string) => Promise<string>;

export interface CredentialOptions {
  /**
   * One set for the registries this client addresses (see `credentialHosts`), or a map keyed by
   * registry (`docker.io`, `localhost:5000`, `host/namespace`).
   */
  credentials?: Credentials | Record<string, Credentials>;
  /**
   * The hosts a single `credentials` set belongs to (the reference's registry, its mirrors).
   * Without it the set goes to every host addressed as a registry, still never to a redirect
   * target or a token realm on another host.
   */
  credentialHosts?: string[];
  /** Only this auth file (skips the default search). */
  authFile?: string;
  /** Environment to read paths from (tests); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Run a credential helper (tests); defaults to executing `docker-credential-<helper> get`. */
  runHelper?: HelperRunner;
}

const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

function isSingleCredentials(c: CredentialOptions["credentials"]): c is Credentials {
  if (!c) return false;
  return ["username", "password", "identityToken", "registryToken"].some(
    (k) => typeof (c as Record<string, unknown>)[k] === "string",
  );
}

/** Default auth file search order (existing files are read lazily). */
export function defaultAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  files.push(join(env.XDG_CONFIG_HOME ?? join(home, ".config"), "containers", "auth.json"));
  files.push(join(env.DOCKER_CONFIG ?? join(home, ".docker"), "config.json"));
  return files;
}

/** Validate the parts of an auth file we read; throws FormatError naming the file and key. */
export function parseAuthFile(text: string, path: string): AuthFile {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${path}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof o !== "object" || o === null) throw new FormatError(`${path}: expected a JSON object`);
  const f = o as Record<string, unknown>;
  const out: AuthFile = {};
  if (f.auths !== undefined) {
    if (typeof f.auths !== "object" || f.auths === null)
      throw new FormatError(`${path}: "auths" must be an object`);
    out.auths = f.auths as AuthFile["auths"];
  }
  if (typeof f.credsStore === "string" && f.credsStore !== "") out.credsStore = f.credsStore;
  if (f.credHelpers !== undefined) {
    if (typeof f.credHelpers !== "object" || f.credHelpers === null)
      throw new FormatError(`${path}: "credHelpers" must be an object`);
    out.credHelpers = f.credHelpers as Record<string, string>;
  }
  return out;
}

/** Turn an `auths` entry into credentials (`auth` is base64 `user:password`). */
export function decodeAuthEntry(
  entry: NonNullable<AuthFile["auths"]>[string],
  where: string,
): Credentials | undefined {
  const c: Credentials = {};
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon === -1) throw new FormatError(`${where}: "auth" does not decode to user:password`);
    c.username = decoded.slice(0, colon);
    c.password = decoded.slice(colon + 1);
  } else if (entry.username !== undefined || entry.password !== undefined) {
    c.username = entry.username;
    c.password = entry.password;
  }
  if (entry.identitytoken) c.identityToken = entry.identitytoken;
  if (entry.registrytoken) c.registryToken = entry.registrytoken;
  return Object.keys(c).length > 0 ? c : undefined;
}

/** Normalise an `auths` key: `https://index.docker.io/v1/` -> docker.io, `https://host/v2/` -> host. */
export function normalizeAuthKey(key: string): string {
  if (key === DOCKER_HUB_AUTH_KEY) return DOCKER_HUB;
  const stripped = key
    .replace(/^https?:\/\//, "")
    .replace(/\/v[12]\/?$/, "")
    .replace(/\/+$/, "");
  const slash = stripped.indexOf("/");
  const host = slash === -1 ? stripped : stripped.slice(0, slash);
  return normalizeRegistry(host) + (slash === -1 ? "" : stripped.slice(slash));
}

/**
 * Find the entry for `registry/repository` in an auths map: the longest matching
 * `registry/namespace` key (containers auth.json allows them), then the bare registry.
 */
export function lookupAuths(
  file: AuthFile,
  registry: string,
  repository: string | undefined,
  where: string,
): Credentials | undefined {
  if (!file.auths) return undefined;
  const byKey = new Map<string, NonNullable<AuthFile["auths"]>[string]>();
  for (const [k, v] of Object.entries(file.auths))
    if (v && typeof v === "object") byKey.set(normalizeAuthKey(k), v);
  const candidates: string[] = [];
  if (repository) {
    const parts = repository.split("/");
    for (let i = parts.length; i >= 1; i--)
      candidates.push(`${registry}/${parts.slice(0, i).join("/")}`);
  }
  candidates.push(registry);
  for (const key of candidates) {
    const entry = byKey.get(key);
    if (entry) return decodeAuthEntry(entry, `${where} auths[${JSON.stringify(key)}]`);
  }
  return undefined;
}

function runDockerCredentialHelper(helper: string, serverUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      `docker-credential-${helper}`,
      ["get"],
      { timeout: 15_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          // The helper's stderr says why (e.g. "credentials not found"), never the secret.
          reject(
            new Error(`docker-credential-${helper} get failed: ${stderr.trim() || err.message}`),
          );
        } else resolve(stdout);
      },
    );
    child.stdin?.end(serverUrl);
  });
}

/** A copy that knows where it came from (not enumerable: it is a label, not a credential). */
function withSource(c: Credentials, source: string): Credentials {
  const { source: _, ...rest } = c;
  return Object.defineProperty({ ...rest }, "source", { value: source, enumerable: false });
}

/** Resolves credentials per registry; results (including misses) are cached for the client's life. */
export class CredentialStore {
  private readonly cache = new Map<string, Promise<Credentials | undefined>>();
  private files: Promise<Array<{ path: string; file: AuthFile }>> | undefined;

  constructor(private readonly options: CredentialOptions = {}) {}

  /**
   * Credentials for a host addressed as a registry (a scoped request to the reference's
   * registry or a mirror): a single `credentials` set applies when it is bound to this host
   * (or bound to no list at all), otherwise what the configuration names for the host.
   */
  get(registryHost: string, repository?: string): Promise<Credentials | undefined> {
    return this.cached("registry", registryHost, repository);
  }

  /**
   * Credentials the configuration names for exactly this host: for hosts we reach only because
   * someone else sent us there (redirect targets, token realms on another host). A single
   * `credentials` set counts only when `credentialHosts` lists the host.
   */
  configuredFor(host: string, repository?: string): Promise<Credentials | undefined> {
    return this.cached("named", host, repository);
  }

  /** Whether a single `credentials` set may go to this host in the given role. */
  private singleBoundTo(registry: string, role: "registry" | "named"): boolean {
    const hosts = this.options.credentialHosts;
    if (!hosts) return role === "registry";
    return hosts.some((h) => normalizeRegistry(h) === registry);
  }

  private cached(
    role: "registry" | "named",
    host: string,
    repository: string | undefined,
  ): Promise<Credentials | undefined> {
    const registry = normalizeRegistry(host);
    const key = `${role} ${registry}/${repository ?? ""}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.resolve(registry, repository, role);
      this.cache.set(key, p);
    }
    return p;
  }

  private async resolve(
    registry: string,
    repository: string | undefined,
    role: "registry" | "named",
  ): Promise<Credentials | undefined> {
    const explicit = this.options.credentials;
    if (isSingleCredentials(explicit)) {
      if (this.singleBoundTo(registry, role))
        return withSource(explicit, explicit.source ?? "the credentials option");
    } else if (explicit) {
      const found = lookupAuths(
        {
          auths: Object.fromEntries(
            Object.entries(explicit).map(([k, c]) => [
              k,
              {
                username: c.username,
                password: c.password,
                identitytoken: c.identityToken,
                registrytoken: c.registryToken,
              },
            ]),
          ),
        },
        registry,
        repository,
        "credentials option",
      );
      if (found) return withSource(found, "the credentials option");
    }
    for (const { path, file } of await this.loadFiles()) {
      const inline = lookupAuths(file, registry, repository, path);
      if (inline) return withSource(inline, `auth file ${path}`);
      const helper =
        file.credHelpers?.[registry] ??
        (registry === DOCKER_HUB ? file.credHelpers?.[DOCKER_HUB_AUTH_KEY] : undefined) ??
        file.credsStore;
      if (helper) {
        const viaHelper = await this.fromHelper(helper, registry);
        if (viaHelper) return withSource(viaHelper, `docker-credential-${helper} (${path})`);
      }
    }
    return undefined;
  }

  private async fromHelper(helper: string, registry: string): Promise<Credentials | undefined> {
    const serverUrl = registry === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : registry;
    let out: string;
    try {
      out = await (this.options.runHelper ?? runDockerCredentialHelper)(helper, serverUrl);
    } catch {
      // "credentials not found" and a missing helper both mean: no credentials from here.
      return undefined;
    }
    let o: { Username?: unknown; Secret?: unknown };
    try {
      o = JSON.parse(out);
    } catch {
      throw new FormatError(`docker-credential-${helper}: output for ${registry} is not JSON`);
    }
    if (typeof o.Secret !== "string" || o.Secret === "") return undefined;
    // Docker's convention: a Username of "<token>" marks the secret as an identity token.
    if (o.Username === "<token>") return { identityToken: o.Secret };
    return { username: typeof o.Username === "string" ? o.Username : "", password: o.Secret };
  }

  /** For a 401 without credentials: where none were found (names only, never contents). */
  async describeMiss(registryHost: string): Promise<string> {
    const registry = normalizeRegistry(registryHost);
    let files: string[] = [];
    try {
      files = (await this.loadFiles()).map((f) => f.path);
    } catch {
      // An unreadable auth file already failed the request that needed it.
    }
    const where = this.options.credentials ? ["the credentials option", ...files] : files;
    return where.length > 0
      ? `no credentials (none for ${registry} in ${where.join(", ")})`
      : "no credentials (no --creds and no auth file: $REGISTRY_AUTH_FILE, containers auth.json, ~/.docker/config.json)";
  }

  private loadFiles(): Promise<Array<{ path: string; file: AuthFile }>> {
    this.files ??= (async () => {
      const paths = this.options.authFile
        ? [this.options.authFile]
        : defaultAuthFiles(this.options.env);
      const out: Array<{ path: string; file: AuthFile }> = [];
      for (const path of paths) {
        let text: string;
        try {
          text = await readFile(path, "utf8");
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT" && !this.options.authFile) continue;
          throw e;
        }
        out.push({ path, file: parseAuthFile(text, path) });
      }
      return out;
    })();
    return this.files;
  }
}
