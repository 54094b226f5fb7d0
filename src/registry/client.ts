/**
 * The public face of the registry code. Builds one layered stack per client
 * (transport -> retry -> redirect -> auth) over one undici dispatcher whose per-origin pools
 * keep connections alive, and exposes pulls (manifests, blobs, ranges) plus a minimal push.
 */
import type { Readable } from "node:stream";
import pLimit from "p-limit";
import type { Dispatcher } from "undici";
import type { Digest } from "../digest.js";
import type { ByteRange, RangeSource } from "../formats/layer-index.js";
import type { Platform } from "../oci/types.js";
import type { Reference } from "../reference.js";
import { Authenticator } from "./auth/auth-layer.js";
import { CredentialStore, type Credentials, type HelperRunner } from "./auth/credentials.js";
import { TokenSource } from "./auth/token.js";
import { type OpenBlobOptions, openBlobStream } from "./blobs.js";
import { CapabilityStore, processCapabilities } from "./capabilities.js";
import {
  loadRegistryConfig,
  qualifyReference,
  type RegistriesConf,
  type RegistryConfigOptions,
} from "./config/index.js";
import {
  type BlobRef,
  originsOf,
  type PlainHttpOption,
  type RegistryContext,
  type RepositoryRef,
} from "./context.js";
import { compose, type Layer } from "./http.js";
import {
  type FetchedManifest,
  type GetManifestOptions,
  getManifest,
  headManifest,
  type ManifestHead,
  type ResolvedImage,
  type ResolveOptions,
  resolveImage,
} from "./manifests.js";
import { Routes } from "./mirrors.js";
import { pushBlob, pushBlobFile, pushManifest } from "./push.js";
import { blobRangeSource } from "./range-source.js";
import {
  type FetchRangesOptions,
  fetchRanges,
  fetchRangesStreaming,
  type RangeCallback,
} from "./ranges.js";
import { redirectLayer } from "./redirect.js";
import { resumeLayer } from "./resume.js";
import { type RetryOptions, retryLayer } from "./retry.js";
import type { TimeoutOptions } from "./timeouts.js";
import { type TlsOptions, Transport, type TransportStats } from "./transport.js";
import { warningLayer } from "./warnings.js";

export interface RegistryClientOptions extends RegistryConfigOptions {
  /** Plain HTTP for all registries, or per host. Default: only loopback hosts (localhost, 127.x, ::1). */
  plainHttp?: PlainHttpOption;
  /** One set of credentials (see `credentialHosts`), or a map keyed by registry (`docker.io`, `host:port`, `host/namespace`). */
  credentials?: Credentials | Record<string, Credentials>;
  /**
   * The hosts a single `credentials` set belongs to (`pull()` passes the reference's registry).
   * Without it the set goes to any host addressed as a registry; never to redirect targets or
   * token realms on other hosts either way.
   */
  credentialHosts?: string[];
  /** Read credentials only from this auth file (docker config.json or containers auth.json format). */
  authFile?: string;
  /** Skip auth files and credential helpers entirely (only `credentials`). */
  noAuthFiles?: boolean;
  /** Try the OAuth2 password grant (POST) before the token GET. */
  oauth2?: boolean;
  /** registry -> ordered mirror hosts (`host[:port]` or URLs), tried before the registry itself. */
  mirrors?: Record<string, string[]>;
  /** Concurrent range/blob requests per client (default 8). */
  concurrency?: number;
  /**
   * Consecutive failed attempts without progress (default 4), or the full retry policy: also a
   * time budget per operation (default 40 s lost to failures) and a cap on attempts.
   */
  retries?: number | RetryOptions;
  /** Connect, header and body-idle timeout in ms at once (older knob; `timeouts` wins). */
  timeoutMs?: number;
  /**
   * Connect (10 s), headers (20 s), idle body (20 s) deadlines and the minimum body throughput
   * (4 KiB/s over 30 s); see src/registry/timeouts.ts.
   */
  timeouts?: TimeoutOptions;
  /**
   * Extra HTTP layers. `perAttempt` wrap the transport, below retry: they see every attempt,
   * redirect hop and token request (a logger, a fault injector). `perRequest` wrap the whole
   * stack, above auth: they see each request once and may rewrite its URL before auth and
   * redirects apply (a mirror rewriter). Each list is applied in order, the last outermost.
   */
  layers?: { perAttempt?: Layer[]; perRequest?: Layer[] };
  /** Send through this undici dispatcher (the caller keeps ownership; close() leaves it open). */
  dispatcher?: Dispatcher;
  userAgent?: string;
  tls?: TlsOptions;
  /** "env" (default): HTTP(S)_PROXY/NO_PROXY; a proxy URL; or "none". */
  proxy?: "env" | "none" | string;
  /** Ranges per request before any downgrade (default 128; ignored when `capabilities` is given). */
  maxRangesPerRequest?: number;
  /** Where range capabilities are remembered; default: shared by the whole process. */
  capabilities?: CapabilityStore;
  /** Default signal for every operation (an operation's own signal wins). */
  signal?: AbortSignal;
  /** Credential helper runner (tests). */
  runCredentialHelper?: HelperRunner;
  /** Called once per distinct registry `Warning: 299` text (registries SHOULD have them shown to users). */
  onWarning?: (text: string) => void;
  /** Environment for auth file lookup (tests). */
  env?: NodeJS.ProcessEnv;
}

export interface ClientStats extends TransportStats {
  /** Token fetches from token servers. */
  tokenFetches: number;
}

export class RegistryClient {
  private readonly transport: Transport;
  private readonly tokens: TokenSource;
  private readonly ctx: RegistryContext;
  private readonly defaultSignal: AbortSignal | undefined;
  private readonly routes: Routes;
  /** The merged registries.conf this client follows (empty when none was read). */
  readonly registriesConf: RegistriesConf;

  constructor(options: RegistryClientOptions = {}) {
    const concurrency = options.concurrency ?? 8;
    const config = loadRegistryConfig(options);
    this.registriesConf = config.registriesConf;
    const routes = new Routes({
      plainHttp: options.plainHttp,
      mirrors: options.mirrors,
      registriesConf: config.registriesConf,
      hostsDirs: config.hostsDirs,
      certsDirs: config.certsDirs,
    });
    this.routes = routes;
    this.transport = new Transport({
      tlsFor: (origin) => routes.tlsFor(origin),
      connections: concurrency,
      timeoutMs: options.timeoutMs,
      timeouts: options.timeouts,
      userAgent: options.userAgent,
      tls: options.tls,
      proxy: options.proxy,
      dispatcher: options.dispatcher,
    });
    const retry: RetryOptions =
      typeof options.retries === "number" ? { retries: options.retries } : (options.retries ?? {});
    // transport -> [caller's per-attempt layers] -> warnings -> retry -> redirect -> auth ->
    // resume -> [caller's per-request layers]. Token requests and pings use the stack below
    // auth. Retry and resume apply one policy (retry.ts RetryBudget) to requests and bodies.
    const below = compose(
      this.transport.send,
      ...(options.layers?.perAttempt ?? []),
      ...(options.onWarning ? [warningLayer(options.onWarning)] : []),
      retryLayer(retry),
      redirectLayer(),
    );
    this.tokens = new TokenSource(below, { oauth2: options.oauth2 });
    const credentials = new CredentialStore({
      credentials: options.credentials,
      credentialHosts: options.credentialHosts,
      authFile: options.authFile,
      env: options.noAuthFiles ? { HOME: "/nonexistent" } : options.env,
      runHelper: options.runCredentialHelper,
    });
    const auth = new Authenticator(below, credentials, this.tokens);
    this.defaultSignal = options.signal;
    this.ctx = {
      send: compose(below, auth.layer(), resumeLayer(retry), ...(options.layers?.perRequest ?? [])),
      limit: pLimit(concurrency),
      // A custom range cap needs its own memory: the process-wide store has the default cap.
      capabilities:
        options.capabilities ??
        (options.maxRangesPerRequest !== undefined
          ? new CapabilityStore(options.maxRangesPerRequest)
          : processCapabilities),
      retry,
      routes,
      origins: originsOf(routes),
      storageUrls: new Map(),
    };
  }

  /** Requests sent, body bytes received and token fetches so far. */
  stats(): ClientStats {
    return { ...this.transport.stats, tokenFetches: this.tokens.fetches };
  }

  resetStats(): void {
    this.transport.stats.requests = 0;
    this.transport.stats.bytesReceived = 0;
    this.tokens.fetches = 0;
  }

  private signal(s: AbortSignal | undefined): AbortSignal | undefined {
    return s ?? this.defaultSignal;
  }

  /** GET a manifest or index by tag or digest (digest and size verified). */
  getManifest(
    repo: RepositoryRef,
    ref: string,
    options: GetManifestOptions = {},
  ): Promise<FetchedManifest> {
    return getManifest(this.ctx, repo, ref, { ...options, signal: this.signal(options.signal) });
  }

  /** A tag's digest, media type and size via HEAD (GET when HEAD is refused). */
  headManifest(repo: RepositoryRef, ref: string, signal?: AbortSignal): Promise<ManifestHead> {
    return headManifest(this.ctx, repo, ref, this.signal(signal));
  }

  /**
   * Reference -> platform manifest -> config, verified. The second argument is either options
   * or just the wanted platform (default: this host's).
   */
  resolveImage(ref: Reference, options: ResolveOptions | Platform = {}): Promise<ResolvedImage> {
    const o: ResolveOptions = isPlatform(options) ? { platform: options } : options;
    return resolveImage(this.ctx, ref, ref.manifestRef, { ...o, signal: this.signal(o.signal) });
  }

  /** A verified stream of the whole blob (errors with DigestMismatchError at the end if the bytes are wrong). */
  openBlob(blob: BlobRef, options: OpenBlobOptions = {}): Promise<Readable> {
    return openBlobStream(this.ctx, blob, { ...options, signal: this.signal(options.signal) });
  }

  /** Exactly the requested bytes of a blob, one buffer per range in request order. */
  fetchRanges(
    blob: BlobRef,
    ranges: readonly ByteRange[],
    options: FetchRangesOptions = {},
  ): Promise<Buffer[]> {
    return fetchRanges(this.ctx, blob, ranges, {
      ...options,
      signal: this.signal(options.signal),
    });
  }

  /** Like fetchRanges, but hands each range to `onRange` as soon as it has arrived (any order). */
  fetchRangesStreaming(
    blob: BlobRef,
    ranges: readonly ByteRange[],
    onRange: RangeCallback,
    options: FetchRangesOptions = {},
  ): Promise<void> {
    return fetchRangesStreaming(this.ctx, blob, ranges, onRange, {
      signal: this.signal(options.signal),
    });
  }

  /**
   * The blob as a RangeSource for format readers. With `wholeBody: "hand-over"` a Range-ignoring
   * origin makes `read` reject with RangeIgnoredError holding the unread whole-blob answer.
   */
  rangeSource(
    blob: BlobRef,
    size: number,
    options: Pick<FetchRangesOptions, "wholeBody"> = {},
  ): RangeSource {
    return blobRangeSource(this, blob, size, options);
  }

  pushBlob(repo: RepositoryRef, data: Buffer, signal?: AbortSignal): Promise<Digest> {
    return pushBlob(this.ctx, repo, data, this.signal(signal));
  }

  /** Upload a file as a blob in bounded chunks (see push.ts). */
  pushBlobFile(
    repo: RepositoryRef,
    path: string,
    digest: Digest,
    signal?: AbortSignal,
  ): Promise<Digest> {
    return pushBlobFile(this.ctx, repo, path, digest, this.signal(signal));
  }

  pushManifest(
    repo: RepositoryRef,
    ref: string,
    body: Buffer,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<Digest> {
    return pushManifest(this.ctx, repo, ref, body, mediaType, this.signal(signal));
  }

  /** A reference without a registry host, qualified by registries.conf's unqualified-search-registries. */
  qualify(reference: string): string {
    return qualifyReference(reference, this.registriesConf);
  }

  /**
   * Bytes of this blob failed verification after they were fetched: distrust every mirror that
   * was asked for them (for this blob). True when trying again will reach a different endpoint.
   */
  distrustMirrors(digest: Digest): boolean {
    return this.routes.distrust(digest);
  }

  /** Close pooled connections. */
  close(): Promise<void> {
    return this.transport.close();
  }
}

function isPlatform(o: ResolveOptions | Platform): o is Platform {
  return typeof (o as Platform).architecture === "string" && typeof (o as Platform).os === "string";
}

export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient(options);
}
