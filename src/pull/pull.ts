/**
 * `pull(reference, options)`: the library's main entry. Resolves the image (manifest digest and
 * config verified by the registry client), then brings every layer into the store, fetching only
 * what the store lacks, and proves each one against the config's rootfs.diff_ids.
 */

import pLimit from "p-limit";
import type { Digest } from "../digest.js";
import { FormatError, NotInStoreError } from "../errors.js";
import { formatPlatform, parsePlatform } from "../oci/platform.js";
import type { Platform } from "../oci/types.js";
import { parseReference, type Reference } from "../reference.js";
import { createRegistryClient, type RegistryClient } from "../registry/client.js";
import { loadRegistryConfig, qualifyReference } from "../registry/config/index.js";
import { withDeadline } from "../registry/deadline.js";
import { newMeter, withMeter } from "../registry/meter.js";
import { pastUntrustedMirrors, sumHostCounts } from "../registry/mirror-attempts.js";
import { openStore } from "../store/index.js";
import type { Store } from "../store/store.js";
import { registryBlobs } from "./blob-access.js";
import { resolvePullConfig } from "./config.js";
import { pullLayer } from "./layer.js";
import type { LayerResult, PullOptions, PullResult } from "./types.js";

export type { LayerResult, ProgressEvent, PullOptions, PullResult, VerifyPolicy } from "./types.js";

export async function pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
  // The overall time limit is one more abort reason; the registry layer reports it as ETIMEOUT.
  const deadline = withDeadline(options.signal, options.timeoutMs);
  try {
    return await pullImage(reference, { ...options, signal: deadline.signal });
  } catch (err) {
    throw deadline.explain(err, reference);
  }
}

async function pullImage(reference: string, options: PullOptions): Promise<PullResult> {
  const cfg = resolvePullConfig(options);
  const client: RegistryClient =
    options.client ??
    createRegistryClient({
      ...options.registryConfig,
      ...(options.plainHttp ? { plainHttp: true } : {}),
      // --creds belong to the reference's registry only (docs/security.md).
      ...(options.credentials
        ? {
            credentials: options.credentials,
            credentialHosts: [credentialHost(reference, options)],
          }
        : {}),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      concurrency: cfg.concurrency,
      signal: options.signal,
    });
  // A short name takes the registries.conf unqualified-search registry.
  let ref: Reference;
  try {
    ref = parseReference(client.qualify(reference));
  } catch (e) {
    if (!options.client) await client.close();
    throw e;
  }
  const store: Store =
    typeof options.store === "object" ? options.store : await openStore(options.store);
  const progress = options.onProgress ?? (() => {});
  try {
    const platform: Platform | undefined =
      typeof options.platform === "string" ? parsePlatform(options.platform) : options.platform;
    progress({ kind: "resolve", message: `resolving ${ref.toString()}` });
    const image = await client.resolveImage(ref, { platform, signal: options.signal });
    const layers = image.manifest.layers;
    const diffIds = image.config.rootfs.diff_ids;
    if (diffIds.length !== layers.length) {
      throw new FormatError(
        `${ref.toString()}: the manifest lists ${layers.length} layers but the config ${diffIds.length} diff_ids`,
      );
    }
    const handle = await store.beginPull();
    const results: LayerResult[] = [];
    try {
      // Layers are pulled side by side (each one's ranges concurrently too); each runs under its
      // own meter, so its requests and bytes are its own. The first failure stops the others,
      // and every layer settles before the pull marker is released.
      const abort = new AbortController();
      const signal = options.signal
        ? AbortSignal.any([options.signal, abort.signal])
        : abort.signal;
      const limit = pLimit(cfg.layerConcurrency);
      const blobs = registryBlobs(client, { registry: ref.registry, repository: ref.repository });
      let firstFailure: { error: unknown } | undefined;
      const first = new Map<Digest, { index: number; task: Promise<LayerResult> }>();
      const tasks = layers.map((desc, i) => {
        const diffId = diffIds[i]!;
        const run = async (): Promise<LayerResult> => {
          // The same layer twice in one image: pulled once, the second sees it in the store.
          const earlier = first.get(diffId);
          if (earlier && earlier.index < i) await earlier.task.catch(() => {});
          progress({
            kind: "layer-start",
            layer: desc.digest,
            size: desc.size,
            message: `layer ${i + 1}/${layers.length} ${desc.digest}`,
          });
          const meter = newMeter();
          const attempt = () =>
            pullLayerHealing({ cfg, store, blobs, signal, progress }, desc, diffId);
          // A layer that fails after a mirror sent bytes of it is pulled again past that mirror.
          const { result: r, servedBy } = await withMeter(meter, () =>
            pastUntrustedMirrors(client, desc.digest, meter, signal, attempt),
          );
          r.requests = meter.requests;
          r.bytesFetched = meter.bytesReceived;
          r.hosts = { ...meter.hosts };
          r.servedBy = servedBy;
          return r;
        };
        const task = limit(run).catch((err: unknown) => {
          // The first failure stops the others; they fail as stopped, naming themselves.
          if (!firstFailure) {
            firstFailure = { error: err };
            abort.abort(err);
          }
          throw err;
        });
        if (!first.has(diffId)) first.set(diffId, { index: i, task });
        return task;
      });
      const settled = await Promise.allSettled(tasks);
      if (firstFailure) throw firstFailure.error;
      for (const x of settled) if (x.status === "fulfilled") results.push(x.value);
      // A name for `store ls`; losing it costs nothing but the name, so it never fails the pull.
      await store
        .putImage({
          reference: ref.toString(),
          manifestDigest: image.manifestDigest,
          configDigest: image.configDigest,
          diffIds,
        })
        .catch((err: Error) =>
          progress({ kind: "output", message: `image not named: ${err.message}` }),
        );
    } finally {
      await handle.end();
    }
    return {
      reference: ref.toString(),
      manifestDigest: image.manifestDigest,
      configDigest: image.configDigest,
      config: image.config,
      configBytes: image.configBytes,
      platform: formatPlatform({
        os: image.config.os,
        architecture: image.config.architecture,
        variant: image.config.variant,
      }),
      layers: results,
      bytesFetched: results.reduce((n, l) => n + l.bytesFetched, 0),
      requests: results.reduce((n, l) => n + l.requests, 0),
      hosts: sumHostCounts(results.map((l) => l.hosts)),
    };
  } finally {
    if (!options.client) await client.close();
  }
}

/** The registry `--creds` belong to: the reference's, qualified as the client will qualify it. */
function credentialHost(reference: string, options: PullOptions): string {
  const conf = loadRegistryConfig(options.registryConfig ?? {}).registriesConf;
  return parseReference(qualifyReference(reference, conf)).registry;
}

/** Bound on re-plans of one layer after store misses (each one removed a different object). */
const STORE_MISS_RETRIES = 64;

/**
 * pullLayer, planned again when it hits content the store turned out not to hold
 * (NotInStoreError: a damaged object or pointer, now removed): what is gone is then fetched.
 * Each retry must be about something new, so a miss that does not go away still fails.
 */
async function pullLayerHealing(...args: Parameters<typeof pullLayer>): Promise<LayerResult> {
  const seen = new Set<string>();
  for (;;) {
    try {
      return await pullLayer(...args);
    } catch (err) {
      if (!(err instanceof NotInStoreError) || seen.has(err.message)) throw err;
      if (seen.size >= STORE_MISS_RETRIES) throw err;
      seen.add(err.message);
      const [ctx, desc] = args;
      ctx.progress({
        kind: "plan",
        layer: desc.digest,
        message: `${desc.digest}: ${err.message}; planning again`,
      });
    }
  }
}
