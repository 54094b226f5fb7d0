/**
 * Image reference parsing and normalisation, following the distribution/reference grammar:
 * `[domain[:port]/]path[:tag][@digest]`. Docker Hub names are normalised the way docker and
 * podman do it (`alpine` -> `docker.io/library/alpine:latest`, served from registry-1.docker.io).
 */
import { type Digest, parseDigest } from "./digest.js";
import { FormatError, UsageError } from "./errors.js";

export const DOCKER_HUB = "docker.io";
export const DOCKER_HUB_ENDPOINT = "registry-1.docker.io";
export const DEFAULT_TAG = "latest";

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// A hostname (labels of letters, digits and hyphens) or a bracketed IPv6 literal, optional port.
const DOMAIN =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const MAX_NAME_LENGTH = 255;

export interface Reference {
  /** Canonical registry name, e.g. `docker.io`, `ghcr.io`, `localhost:5000`. */
  readonly registry: string;
  /** The `host[:port]` to contact (`registry-1.docker.io` for `docker.io`). */
  readonly endpoint: string;
  /** Repository path inside the registry, e.g. `library/alpine`. */
  readonly repository: string;
  /** Tag; `latest` when neither a tag nor a digest was given. */
  readonly tag?: string;
  readonly digest?: Digest;
  /** What to put in `/v2/<name>/manifests/<ref>`: the digest when present, else the tag. */
  readonly manifestRef: string;
  /** Full normalised form: `docker.io/library/alpine:latest`, `host/repo@sha256:...`. */
  toString(): string;
}

/** True for hosts that denote this machine; such registries default to plain HTTP. */
export function isLoopbackHost(hostWithPort: string): boolean {
  const host = stripPort(hostWithPort).replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function stripPort(hostWithPort: string): string {
  if (hostWithPort.startsWith("[")) return hostWithPort.slice(0, hostWithPort.indexOf("]") + 1);
  const colon = hostWithPort.lastIndexOf(":");
  return colon === -1 ? hostWithPort : hostWithPort.slice(0, colon);
}

/** Normalise a registry name as written by users and auth files (`index.docker.io` -> `docker.io`). */
export function normalizeRegistry(registry: string): string {
  const r = registry.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
  if (r === "index.docker.io" || r === DOCKER_HUB_ENDPOINT) return DOCKER_HUB;
  return r;
}

/** The host to contact for a canonical registry name. */
export function registryEndpoint(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_ENDPOINT : registry;
}

function looksLikeDomain(first: string): boolean {
  return (
    first.includes(".") ||
    first.includes(":") ||
    first === "localhost" ||
    first !== first.toLowerCase()
  );
}

class ParsedReference implements Reference {
  readonly endpoint: string;
  readonly manifestRef: string;
  constructor(
    readonly registry: string,
    readonly repository: string,
    readonly tag: string | undefined,
    readonly digest: Digest | undefined,
  ) {
    this.endpoint = registryEndpoint(registry);
    this.manifestRef = digest ?? tag ?? DEFAULT_TAG;
  }
  toString(): string {
    let s = `${this.registry}/${this.repository}`;
    if (this.tag !== undefined) s += `:${this.tag}`;
    if (this.digest !== undefined) s += `@${this.digest}`;
    return s;
  }
}

/** Parse an image reference; throws UsageError naming the part that is wrong. */
export function parseReference(input: string): Reference {
  const s = input.trim();
  if (s === "") throw new UsageError("image reference is empty");
  if (/\s/.test(s))
    throw new UsageError(`image reference ${JSON.stringify(input)} contains whitespace`);
  if (/^[a-z]+:\/\//i.test(s)) {
    throw new UsageError(`image reference ${JSON.stringify(input)} must not have a URL scheme`);
  }

  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    try {
      digest = parseDigest(rest.slice(at + 1), "digest");
    } catch (e) {
      const why = e instanceof FormatError ? e.message : String(e);
      throw new UsageError(`image reference ${JSON.stringify(input)}: invalid ${why}`);
    }
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw new UsageError(
        `image reference ${JSON.stringify(input)}: invalid tag ${JSON.stringify(tag)} (letters, digits, _ . -, at most 128, not starting with . or -)`,
      );
    }
  }
  if (rest === "")
    throw new UsageError(`image reference ${JSON.stringify(input)} has no repository name`);

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash !== -1 && looksLikeDomain(rest.slice(0, slash))) {
    const domain = rest.slice(0, slash);
    if (!DOMAIN.test(domain)) {
      throw new UsageError(
        `image reference ${JSON.stringify(input)}: invalid registry host ${JSON.stringify(domain)}`,
      );
    }
    registry = normalizeRegistry(domain);
    path = rest.slice(slash + 1);
  }
  for (const component of path.split("/")) {
    if (!PATH_COMPONENT.test(component)) {
      const hint =
        component !== component.toLowerCase() ? " (repository names must be lowercase)" : "";
      throw new UsageError(
        `image reference ${JSON.stringify(input)}: invalid repository path component ${JSON.stringify(component)}${hint}`,
      );
    }
  }
  if (registry === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  if (registry.length + 1 + path.length > MAX_NAME_LENGTH) {
    throw new UsageError(
      `image reference ${JSON.stringify(input)}: name longer than ${MAX_NAME_LENGTH} characters`,
    );
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return new ParsedReference(registry, path, tag, digest);
}
