/** The public vocabulary of a pull: options in, result out, progress along the way. */
import type { Digest } from "../digest.js";
import type { ImageConfig, Platform } from "../oci/types.js";
import type { RegistryClient } from "../registry/client.js";
import type { RegistryConfigOptions } from "../registry/config/index.js";
import type { HostCount } from "../registry/meter.js";
import type { TimeoutOptions } from "../registry/timeouts.js";
import type { Store } from "../store/store.js";

/**
 * `diff-id` (default): a layer is accepted only when its rebuilt tar hashes to the config's
 * rootfs.diff_ids entry; layers that cannot be rebuilt from ranges are pulled in full.
 * `toc`: layers without a tar-split (eStargz, old zstd:chunked) may be partial-pulled on the
 * strength of the TOC digest and the per-file digests; the result says which policy held.
 */
export type { VerifyPolicy } from "../store/types.js";

import type { VerifyPolicy } from "../store/types.js";

export type LayerFormat = "zstd:chunked" | "estargz" | "estargz-zstd" | "gzip" | "zstd" | "tar";

/** `cached`: the store already had the layer; nothing of it was fetched. */
export type LayerMode = "partial" | "full" | "cached";

export interface ProgressEvent {
  kind:
    | "resolve"
    | "layer-start"
    | "plan"
    | "fetch"
    | "verify"
    | "layer-done"
    | "fallback"
    | "output";
  layer?: Digest;
  message: string;
  /** `fetch`: bytes of this layer received so far in this phase. */
  bytesFetched?: number;
  /** `plan`/`fetch`: bytes this layer's fetch phase will transfer in all (progress bars). */
  bytesTotal?: number;
  /** `layer-start`: the layer's compressed size (what a full pull would fetch). */
  size?: number;
}

export interface PullOptions {
  /** A store directory or an open store; default `$XDG_CACHE_HOME/chunkpull`. */
  store?: string | Store;
  /** `os/arch[/variant]` or a Platform; default: this host. */
  platform?: string | Platform;
  plainHttp?: boolean;
  credentials?: { username: string; password: string };
  verify?: VerifyPolicy;
  /** Layers pulled at once, each under its own meter (default 3). */
  layerConcurrency?: number;
  /**
   * Requests in flight for the whole pull (default 8): the request limit of the client the pull
   * creates. A caller's own `client` keeps its own limit (RegistryClientOptions.concurrency).
   */
  concurrency?: number;
  /** Reject layers carrying both zstd:chunked and eStargz TOC annotations. */
  strictFormat?: boolean;
  /** registries.conf, hosts.toml and certs.d locations for the client pull creates. */
  registryConfig?: RegistryConfigOptions;
  /** Use this client (and its options) instead of creating one. */
  client?: RegistryClient;
  signal?: AbortSignal;
  /** Overall time limit of the whole pull in ms (default none); exceeding it fails with ETIMEOUT. */
  timeoutMs?: number;
  /** Per-request deadlines of the client pull() creates (ignored with `client`; defaults in registry/timeouts.ts). */
  timeouts?: TimeoutOptions;
  onProgress?: (event: ProgressEvent) => void;
  /** Byte budget of one batch of ranges (bounds memory; default 16 MiB). */
  batchBytes?: number;
  /**
   * Longest single byte range (default 4 MiB): longer runs of wanted chunks are requested as
   * several consecutive ranges, so a dropped connection costs at most one range again.
   */
  maxRangeBytes?: number;
}

export interface LayerResult {
  digest: Digest;
  diffId: Digest;
  mediaType: string;
  /** Compressed size from the descriptor. */
  size: number;
  format: LayerFormat;
  mode: LayerMode;
  bytesFetched: number;
  requests: number;
  ranges: number;
  filesTotal: number;
  filesFromStore: number;
  chunksFromStore: number;
  /** The policy that vouches for the stored layer. */
  verified: VerifyPolicy;
  /**
   * Zero bytes appended to the rebuilt tar to match the diff_id: the blob's writer cut the tar's
   * trailing padding (containers/storage 1.43, skopeo 1.9). Proven by the diff_id.
   */
  trailingPadding?: number;
  /** Why a chunked layer was pulled in full, if it was. */
  fallbackReason?: string;
  /** Requests and body bytes per `host[:port]` (mirrors, registry, token servers). */
  hosts?: Record<string, HostCount>;
  /** The host that sent most of this layer's bytes ("" when nothing was fetched). */
  servedBy?: string;
}

export interface PullResult {
  reference: string;
  manifestDigest: Digest;
  configDigest: Digest;
  config: ImageConfig;
  /** The config exactly as served (its digest is configDigest), for the output writers. */
  configBytes: Buffer;
  platform: string;
  layers: LayerResult[];
  bytesFetched: number;
  requests: number;
  /** Requests and body bytes per host, all layers together. */
  hosts?: Record<string, HostCount>;
}
