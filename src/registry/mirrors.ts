/**
 * Where a repository's manifests and blobs may be fetched from, best first: the `mirrors`
 * option, then registries.conf mirrors, then hosts.toml hosts, and finally the registry itself
 * (possibly relocated by registries.conf `location` or hosts.toml `server`). What a mirror may
 * answer depends on the lookup: a tag only from mirrors allowed to resolve tags; content by
 * digest from any mirror, because every digest-addressed byte is verified anyway. A mirror that
 * served bytes of a blob which then failed verification is distrusted for that blob, so a retry
 * goes to the next endpoint.
 */
import { rootCertificates } from "node:tls";
import { UsageError } from "../errors.js";
import { isLoopbackHost, normalizeRegistry, registryEndpoint } from "../reference.js";
import { readCertsDir } from "./config/certs-d.js";
import { type HostsConfig, loadHostsDir } from "./config/hosts-toml.js";
import { findRegistry, type RegistriesConf } from "./config/registries-conf.js";
import type { TlsOptions } from "./transport.js";

/** A tag lookup (manifest by tag) or a content lookup (manifest or blob by digest). */
export type Lookup = "tag" | "digest";

export interface Endpoint {
  /** `scheme://host[:port]`. */
  origin: string;
  /** The API root path at that origin, `/v2` unless a hosts.toml host says otherwise. */
  apiRoot: string;
  /** The repository's name at this endpoint (registries.conf locations may rename it). */
  repository: string;
  mirror: boolean;
}

export type PlainHttpOption = boolean | ((host: string) => boolean);

export interface RoutingOptions {
  plainHttp?: PlainHttpOption;
  /** registry -> ordered mirror hosts (`host[:port]` or URLs), tried before everything else. */
  mirrors?: Record<string, string[]>;
  registriesConf?: RegistriesConf;
  /** containerd hosts directories (`<dir>/<host>/hosts.toml`), first match wins. */
  hostsDirs?: readonly string[];
  /** certs.d directories for per-host CA and client certificates. */
  certsDirs?: readonly string[];
}

/** The registry is `blocked = true` in registries.conf. */
export class BlockedRegistryError extends UsageError {
  constructor(name: string, prefix: string) {
    super(`${name}: pulling from ${prefix} is blocked by registries.conf`);
  }
}

/** `http://` or `https://` for a host: explicit option, else plain HTTP for loopback registries only. */
export function originFor(hostOrUrl: string, plainHttp: PlainHttpOption | undefined): string {
  if (/^https?:\/\//.test(hostOrUrl)) return new URL(hostOrUrl).origin;
  const plain =
    typeof plainHttp === "function"
      ? plainHttp(hostOrUrl)
      : (plainHttp ?? isLoopbackHost(hostOrUrl));
  return `${plain ? "http" : "https"}://${hostOrUrl}`;
}

export function endpointUrl(ep: Endpoint, path: string): URL {
  return new URL(`${ep.apiRoot}/${ep.repository}/${path}`, ep.origin);
}

function endpointKey(ep: Endpoint): string {
  return `${ep.origin}${ep.apiRoot}/${ep.repository}`;
}

/** `host[:port]/a/b` -> host and repository path (the original repository when none). */
function splitLocation(location: string): { host: string; path: string } {
  const slash = location.indexOf("/");
  return slash === -1
    ? { host: location, path: "" }
    : { host: location.slice(0, slash), path: location.slice(slash + 1) };
}

export class Routes {
  private readonly legacy = new Map<string, string[]>();
  private readonly hostsCache = new Map<string, HostsConfig | undefined>();
  /** TLS settings the configuration gives per origin (hosts.toml, insecure). */
  private readonly tlsByOrigin = new Map<string, TlsOptions>();
  /** digest -> endpoints (mirrors) that were asked for its bytes / that served wrong bytes. */
  private readonly served = new Map<string, Set<string>>();
  private readonly distrusted = new Map<string, Set<string>>();
  /** Mirror origins that could not be reached: skipped for the rest of the client's life. */
  private readonly down = new Set<string>();

  constructor(private readonly options: RoutingOptions = {}) {
    for (const [k, v] of Object.entries(options.mirrors ?? {}))
      this.legacy.set(normalizeRegistry(k), v);
  }

  /** Endpoints to try for `registry/repository`, best first; the registry itself is last. */
  endpoints(registry: string, repository: string, lookup: Lookup, digest?: string): Endpoint[] {
    const r = normalizeRegistry(registry);
    const mirrors: Endpoint[] = [];
    for (const m of this.legacy.get(r) ?? []) {
      const origin = originFor(m, this.options.plainHttp);
      mirrors.push({ origin, apiRoot: "/v2", repository, mirror: true });
    }
    const fromConf = this.fromRegistriesConf(r, repository, lookup);
    mirrors.push(...fromConf.mirrors);
    const fromHosts = this.fromHostsToml(r, repository, lookup);
    mirrors.push(...fromHosts.mirrors);
    const registryEndpoints = fromConf.registry ?? [
      fromHosts.origin ?? {
        origin: originFor(registryEndpoint(r), this.options.plainHttp),
        apiRoot: "/v2",
        repository,
        mirror: false,
      },
    ];
    const origin = registryEndpoints[registryEndpoints.length - 1]!;

    const bad = digest ? this.distrusted.get(digest) : undefined;
    // A mirror that is the registry itself is the registry: it keeps its last place.
    const seen = new Set<string>([endpointKey(origin)]);
    const usable = mirrors.filter((ep) => {
      const key = endpointKey(ep);
      if (seen.has(key)) return false;
      seen.add(key);
      return !(ep.mirror && (bad?.has(key) || this.down.has(ep.origin)));
    });
    // The registry itself is never skipped: it is the last word, and verification still holds.
    return [...usable, ...registryEndpoints];
  }

  /** Record TLS settings for an origin (merged with earlier ones). */
  private setTls(origin: string, tls: TlsOptions | undefined): void {
    if (tls && Object.keys(tls).length > 0)
      this.tlsByOrigin.set(origin, { ...this.tlsByOrigin.get(origin), ...tls });
  }

  /**
   * registries.conf: blocked registries throw; mirrors (tags only from those allowed); the
   * registry's own endpoints when `location` relocates it or it is insecure (its unverified
   * TLS attempt, then plain HTTP).
   */
  private fromRegistriesConf(
    registry: string,
    repository: string,
    lookup: Lookup,
  ): { mirrors: Endpoint[]; registry?: Endpoint[] } {
    const name = `${registry}/${repository}`;
    const conf = this.options.registriesConf
      ? findRegistry(this.options.registriesConf, name)
      : undefined;
    if (!conf) return { mirrors: [] };
    if (conf.blocked) throw new BlockedRegistryError(name, conf.prefix);
    const wildcard = conf.prefix.startsWith("*.");
    // A matched prefix is replaced by the location; under a wildcard the name stays and a
    // mirror location takes the place of the host.
    const rename = (location: string | undefined) => {
      const where = splitLocation(
        wildcard
          ? location === undefined
            ? name
            : `${location}/${repository}`
          : (location ?? conf.location) + name.slice(conf.prefix.length),
      );
      return { host: where.host, repository: where.path || repository };
    };
    const mirrors: Endpoint[] = [];
    for (const m of conf.mirrors) {
      if (lookup === "tag" && m.pullFromMirror === "digest-only") continue;
      const at = rename(m.location);
      for (const e of this.schemes(at.host, m.insecure)) {
        this.setTls(e.ep.origin, e.tls);
        mirrors.push({ ...e.ep, repository: at.repository, mirror: true });
      }
    }
    const at = rename(undefined);
    const own = this.schemes(at.host, conf.insecure).map((e) => {
      this.setTls(e.ep.origin, e.tls);
      return { ...e.ep, repository: at.repository, mirror: false };
    });
    // Without a relocation the registry stays where it is (hosts.toml `server` may still move it).
    const relocated = !wildcard && conf.location !== conf.prefix;
    return relocated || conf.insecure ? { mirrors, registry: own } : { mirrors };
  }

  /** hosts.toml: hosts with the capability for this lookup, and the `server` with its TLS. */
  private fromHostsToml(
    registry: string,
    repository: string,
    lookup: Lookup,
  ): { mirrors: Endpoint[]; origin?: Endpoint } {
    const hosts = this.hostsFor(registry);
    if (!hosts) return { mirrors: [] };
    const mirrors: Endpoint[] = [];
    for (const h of hosts.hosts) {
      if (lookup === "tag" ? !h.resolve : !h.pull) continue;
      this.setTls(h.origin, h.tls);
      mirrors.push({ origin: h.origin, apiRoot: h.apiRoot, repository, mirror: true });
    }
    const server = hosts.server
      ? { origin: hosts.server.origin, apiRoot: hosts.server.apiRoot, repository, mirror: false }
      : undefined;
    const serverOrigin =
      server?.origin ?? originFor(registryEndpoint(registry), this.options.plainHttp);
    this.setTls(serverOrigin, { ...hosts.serverTls, ...hosts.server?.tls });
    return server ? { mirrors, origin: server } : { mirrors };
  }

  private schemes(location: string, insecure: boolean): Array<{ ep: Endpoint; tls?: TlsOptions }> {
    // `docker.io` in a location means Docker Hub's API host, as everywhere else.
    const host = registryEndpoint(normalizeRegistry(location));
    const first = originFor(host, this.options.plainHttp);
    const base = { apiRoot: "/v2", repository: "", mirror: false };
    if (!insecure || first.startsWith("http:")) return [{ ep: { ...base, origin: first } }];
    return [
      { ep: { ...base, origin: first }, tls: { rejectUnauthorized: false } },
      { ep: { ...base, origin: `http://${host}` } },
    ];
  }

  private hostsFor(registry: string): HostsConfig | undefined {
    if (!this.hostsCache.has(registry)) {
      let found: HostsConfig | undefined;
      for (const dir of this.options.hostsDirs ?? []) {
        found = loadHostsDir(dir, registry);
        if (found) break;
      }
      this.hostsCache.set(registry, found);
    }
    return this.hostsCache.get(registry);
  }

  /** TLS for a new connection pool to `origin`: certs.d first, configuration settings on top. */
  tlsFor(origin: string): TlsOptions | undefined {
    const host = new URL(origin).host;
    const fromCerts = this.options.certsDirs?.length
      ? readCertsDir(this.options.certsDirs, host)
      : undefined;
    const configured = this.tlsByOrigin.get(origin);
    if (!fromCerts && !configured) return undefined;
    const tls: TlsOptions = { ...fromCerts, ...configured };
    // Extra CAs are trusted in addition to the system's, as docker and containerd do.
    if (tls.ca !== undefined) tls.ca = [...rootCertificates, ...[tls.ca].flat()];
    return tls;
  }

  /** A mirror refused connections or timed out (after the retries): stop asking it. */
  markDown(ep: Endpoint): void {
    if (ep.mirror) this.down.add(ep.origin);
  }

  /** Note that `ep` was asked for bytes of `digest` (only mirrors are remembered). */
  noteServed(ep: Endpoint, digest: string): void {
    if (!ep.mirror) return;
    const s = this.served.get(digest) ?? new Set<string>();
    this.served.set(digest, s);
    s.add(endpointKey(ep));
  }

  /**
   * Bytes of `digest` failed verification: distrust every mirror that was asked for them.
   * True when one was newly distrusted (so trying again can reach a different endpoint).
   */
  distrust(digest: string): boolean {
    const asked = this.served.get(digest);
    if (!asked || asked.size === 0) return false;
    const bad = this.distrusted.get(digest) ?? new Set<string>();
    this.distrusted.set(digest, bad);
    let added = false;
    for (const key of asked) {
      if (!bad.has(key)) {
        bad.add(key);
        added = true;
      }
    }
    asked.clear();
    return added;
  }
}
