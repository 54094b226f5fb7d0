/**
 * `inspectImage`: what an image is and what pulling it would cost now, without pulling it. It
 * resolves the image like a pull (manifest and config verified), runs the same TOC discovery per
 * layer (so it reads each chunked layer's TOC and tar-split: the metadata a pull reads first) and,
 * with a store, the same planner against what the store holds. Nothing is written anywhere.
 *
 * The request counts are the discovery's actual requests plus one multi-range request per batch
 * of planned ranges (the pull's batching); a registry that refuses multi-range requests costs
 * more. Skeleton frames (zstd:chunked without tar-split) are counted as fetched in full.
 */
import type { Digest } from "../digest.js";
import { FormatError } from "../errors.js";
import { planMembers } from "../formats/estargz/rebuild.js";
import type { RangeSource } from "../formats/layer-index.js";
import { skeletonOf } from "../formats/zstdchunked/rebuild-frames.js";
import {
  compatiblePlatforms,
  formatPlatform,
  normalizePlatform,
  parsePlatform,
  runnableEntries,
} from "../oci/platform.js";
import type { Descriptor, Platform } from "../oci/types.js";
import { batchRanges } from "../pull/batches.js";
import {
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_RANGES,
  DEFAULT_MAX_RANGE_BYTES,
  MERGE_GAP_BYTES,
} from "../pull/config.js";
import { discoverLayer } from "../pull/discover.js";
import { littleHeldReason, MIN_SKIP_SHARE } from "../pull/layer-members.js";
import { lookupStore } from "../pull/lookup.js";
import { lookupDigest, planLayer } from "../pull/plan.js";
import type { LayerFormat, VerifyPolicy } from "../pull/types.js";
import { parseReference } from "../reference.js";
import { createRegistryClient, type RegistryClient } from "../registry/client.js";
import {
  loadRegistryConfig,
  qualifyReference,
  type RegistryConfigOptions,
} from "../registry/config/index.js";
import { openStore } from "../store/index.js";
import type { Store } from "../store/store.js";

// The pull's batch budget and gap merging (pull/config.ts): the plan must match a pull's.
const BATCH_BYTES = DEFAULT_BATCH_BYTES;

export interface InspectOptions {
  /** With a store (directory or open store), each layer gets a dry-run plan. */
  store?: string | Store;
  platform?: string | Platform;
  plainHttp?: boolean;
  credentials?: { username: string; password: string; source?: string };
  /** registries.conf / hosts.d: mirrors and short-name qualification, as pull() reads them. */
  registryConfig?: RegistryConfigOptions;
  verify?: VerifyPolicy;
  strictFormat?: boolean;
  client?: RegistryClient;
  signal?: AbortSignal;
}

/** What a pull would do with one layer now. */
export interface LayerDryRun {
  mode: "cached" | "partial" | "full";
  /** Bytes a pull would receive for this layer (metadata included). */
  bytesToFetch: number;
  requests: number;
  filesTotal?: number;
  filesFromStore?: number;
  /** Why a chunked layer would be pulled in full. */
  reason?: string;
}

export interface LayerInspection {
  digest: Digest;
  diffId: Digest;
  mediaType: string;
  size: number;
  format: LayerFormat;
  /** `verified`: authenticated by the annotations; `unverified`: found via the footer only. */
  toc: "verified" | "unverified" | "none";
  tarSplit: "present" | "absent" | "none";
  files?: number;
  /** Bytes and requests the discovery itself took (what any pull reads first). */
  metadataBytes: number;
  dryRun?: LayerDryRun;
}

export interface ImageInspection {
  reference: string;
  indexDigest?: Digest;
  manifestDigest: Digest;
  configDigest: Digest;
  /** The platform of the resolved image (from its config). */
  platform: string;
  /** Runnable platforms of the index, or the image's own when the reference is a single manifest. */
  platforms: string[];
  /** Set when a platform was asked for and the single-platform image is another one. */
  platformMismatch?: { wanted: string; actual: string };
  layers: LayerInspection[];
  size: number;
  /** With a store: the totals a pull would fetch now. */
  dryRun?: { bytesToFetch: number; requests: number };
}

/** A source that counts requests (one per read call) and bytes. */
function countingReads(inner: RangeSource): RangeSource & { requests: number; bytes: number } {
  const c = {
    size: inner.size,
    requests: 0,
    bytes: 0,
    read: (ranges: Parameters<RangeSource["read"]>[0], signal?: AbortSignal) => {
      c.requests++;
      c.bytes += ranges.reduce((n, r) => n + r.length, 0);
      return inner.read(ranges, signal);
    },
  };
  return c;
}

/**
 * True when an image built for `actual` runs where `wanted` was asked for (same rules as index
 * selection: amd64 runs 386, arm64 runs arm/v8...).
 */
export function platformMatches(wanted: Platform, actual: Platform): boolean {
  const a = normalizePlatform(actual);
  return compatiblePlatforms(wanted).some(
    (w) =>
      w.os === a.os &&
      w.architecture === a.architecture &&
      (!w.variant || !a.variant || w.variant === a.variant),
  );
}

export async function inspectImage(
  reference: string,
  options: InspectOptions = {},
): Promise<ImageInspection> {
  const client =
    options.client ??
    createRegistryClient({
      ...options.registryConfig,
      ...(options.plainHttp ? { plainHttp: true } : {}),
      // --creds belong to the reference's registry only, never to its mirrors (as in pull()).
      ...(options.credentials
        ? {
            credentials: options.credentials,
            credentialHosts: [
              parseReference(
                qualifyReference(
                  reference,
                  loadRegistryConfig(options.registryConfig ?? {}).registriesConf,
                ),
              ).registry,
            ],
          }
        : {}),
      signal: options.signal,
    });
  try {
    // A short name takes the registries.conf unqualified-search registry, as in a pull.
    const ref = parseReference(client.qualify(reference));
    const wanted =
      typeof options.platform === "string" ? parsePlatform(options.platform) : options.platform;
    const image = await client.resolveImage(ref, { platform: wanted, signal: options.signal });
    const { layers } = image.manifest;
    const diffIds = image.config.rootfs.diff_ids;
    if (diffIds.length !== layers.length) {
      throw new FormatError(
        `${ref.toString()}: the manifest lists ${layers.length} layers but the config ${diffIds.length} diff_ids`,
      );
    }
    const actual: Platform = {
      os: image.config.os,
      architecture: image.config.architecture,
      ...(image.config.variant ? { variant: image.config.variant } : {}),
    };
    const platform = formatPlatform(normalizePlatform(actual));
    const platforms = image.index
      ? [
          ...new Set(
            runnableEntries(image.index).map((d) => formatPlatform(normalizePlatform(d.platform!))),
          ),
        ]
      : [platform];
    const store =
      options.store === undefined
        ? undefined
        : typeof options.store === "object"
          ? options.store
          : await openStore(options.store);
    const out: LayerInspection[] = [];
    for (const [i, desc] of layers.entries()) {
      out.push(await inspectLayer(client, ref, desc, diffIds[i]!, store, options));
    }
    const result: ImageInspection = {
      reference: ref.toString(),
      manifestDigest: image.manifestDigest,
      configDigest: image.configDigest,
      platform,
      platforms,
      layers: out,
      size: layers.reduce((n, l) => n + l.size, 0),
    };
    if (image.indexDigest) result.indexDigest = image.indexDigest;
    if (wanted && !image.index && !platformMatches(wanted, actual)) {
      result.platformMismatch = {
        wanted: formatPlatform(normalizePlatform(wanted)),
        actual: platform,
      };
    }
    if (store) {
      result.dryRun = {
        bytesToFetch: out.reduce((n, l) => n + (l.dryRun?.bytesToFetch ?? 0), 0),
        requests: out.reduce((n, l) => n + (l.dryRun?.requests ?? 0), 0),
      };
    }
    return result;
  } finally {
    if (!options.client) await client.close();
  }
}

async function inspectLayer(
  client: RegistryClient,
  ref: { registry: string; repository: string },
  desc: Descriptor,
  diffId: Digest,
  store: Store | undefined,
  options: InspectOptions,
): Promise<LayerInspection> {
  const verify = options.verify ?? "diff-id";
  const source = countingReads(
    client.rangeSource(
      { registry: ref.registry, repository: ref.repository, digest: desc.digest, size: desc.size },
      desc.size,
    ),
  );
  const discovery = await discoverLayer(
    desc,
    source,
    { verify, strict: options.strictFormat ?? false },
    options.signal,
  );
  const base = {
    digest: desc.digest,
    diffId,
    mediaType: desc.mediaType,
    size: desc.size,
    metadataBytes: source.bytes,
  };
  const meta = { bytes: source.bytes, requests: source.requests };
  const full = (reason?: string): LayerDryRun => ({
    mode: "full",
    bytesToFetch: meta.bytes + desc.size,
    requests: meta.requests + 1,
    ...(reason ? { reason } : {}),
  });
  if (discovery.kind === "full") {
    discovery.answer?.discard();
    const l: LayerInspection = { ...base, format: discovery.format, toc: "none", tarSplit: "none" };
    if (store) l.dryRun = (await cached(store, diffId, verify)) ?? full(discovery.reason);
    return l;
  }
  const layer = discovery.kind === "toc" ? discovery.layer : discovery.strategy.layer;
  const l: LayerInspection = {
    ...base,
    format: layer.format,
    toc:
      layer.format === "zstd:chunked"
        ? layer.tocTrusted
          ? "verified"
          : "unverified"
        : layer.tocVerified
          ? "verified"
          : "unverified",
    tarSplit: layer.format === "zstd:chunked" && layer.hasTarSplit ? "present" : "absent",
    files: layer.files.length,
  };
  if (!store) return l;
  const hit = await cached(store, diffId, verify);
  if (hit) {
    l.dryRun = hit;
    return l;
  }
  const hits = await lookupStore(layer.files, store);
  if (discovery.kind === "rebuild" && discovery.strategy.kind === "members") {
    const plan = planMembers(discovery.strategy.layer, desc.size, (file, chunk) => {
      if (hits.haveFile.has(file.digest)) return true;
      const d = lookupDigest(file, chunk);
      return d !== undefined && hits.haveChunk.has(d);
    });
    if (plan.skippedBytes < MIN_SKIP_SHARE * desc.size) {
      l.dryRun = full(`the store holds too little of this ${layer.format} layer as whole chunks`);
      return l;
    }
    const rest = desc.size - plan.skippedBytes;
    l.dryRun = {
      mode: "partial",
      bytesToFetch: meta.bytes + rest,
      requests: meta.requests + Math.max(1, Math.ceil(rest / BATCH_BYTES)),
      filesTotal: layer.files.length,
      filesFromStore: plan.filesTouched,
    };
    return l;
  }
  const plan = planLayer(layer.files, hits.haveFile, hits.haveChunk, {
    blobSize: desc.size,
    alwaysMergeGap: MERGE_GAP_BYTES,
  });
  if (discovery.kind === "rebuild" && discovery.strategy.kind === "toc-headers") {
    // As the pull decides (layer.ts): too little saved by the store, and it streams in full.
    const reason = littleHeldReason(layer.format, plan.totals.bytesSaved, desc.size);
    if (reason) {
      l.dryRun = full(reason);
      return l;
    }
  }
  let bytes = meta.bytes + plan.totals.bytesToFetch;
  let requests =
    meta.requests +
    batchRanges(plan.ranges, BATCH_BYTES, DEFAULT_MAX_RANGE_BYTES, DEFAULT_BATCH_RANGES).length;
  if (discovery.kind === "rebuild" && discovery.strategy.kind === "frames") {
    const gaps = skeletonOf(discovery.strategy.layer).gaps;
    const gapBytes = gaps.reduce((n, g) => n + g.length, 0);
    bytes += gapBytes;
    requests += Math.max(1, Math.ceil(gapBytes / BATCH_BYTES));
  }
  l.dryRun = {
    mode: "partial",
    bytesToFetch: bytes,
    requests,
    filesTotal: plan.totals.files,
    filesFromStore: plan.totals.filesFromStore,
  };
  return l;
}

/** A layer the store already holds under an acceptable policy costs nothing (as in pull). */
async function cached(
  store: Store,
  diffId: Digest,
  verify: VerifyPolicy,
): Promise<LayerDryRun | undefined> {
  const stored = await store.getLayer(diffId);
  if (stored && (stored.record.verified === "diff-id" || verify === "toc")) {
    return { mode: "cached", bytesToFetch: 0, requests: 0 };
  }
  return undefined;
}
