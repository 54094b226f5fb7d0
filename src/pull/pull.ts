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
import { parseReference } from "../reference.js";
import { createRegistryClient, type RegistryClient } from "../registry/client.js";
import { withDeadline } from "../registry/deadline.js";
import { newMeter, withMeter } from "../registry/meter.js";
import { openStore } from "../store/index.js";
import type { Store } from "../store/store.js";
import { pullLayer } from "./layer.js";
import type { LayerResult, PullOptions, PullResult } from "./types.js";

export type { LayerResult, ProgressEvent, PullOptions, PullResult, VerifyPolicy } from "./types.js";

const DEFAULT_BATCH_BYTES = 16 << 20;
/** Layers in flight at once (each with its own range batches in flight). */
const DEFAULT_LAYER_CONCURRENCY = 3;
const DEFAULT_MAX_RANGE_BYTES = 4 << 20;

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
  const ref = parseReference(reference);
  const client: RegistryClient =
    options.client ??
    createRegistryClient({
      ...(options.plainHttp ? { plainHttp: true } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      signal: options.signal,
    });
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
      const limit = pLimit(Math.max(1, options.layerConcurrency ?? DEFAULT_LAYER_CONCURRENCY));
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
            message: `layer ${i + 1}/${layers.length} ${desc.digest}`,
          });
          const meter = newMeter();
          const r = await withMeter(meter, () =>
            pullLayerHealing(
              {
                client,
                store,
                repo: { registry: ref.registry, repository: ref.repository },
                verify: options.verify ?? "diff-id",
                strict: options.strictFormat ?? false,
                concurrency: options.concurrency ?? 4,
                batchBytes: options.batchBytes ?? DEFAULT_BATCH_BYTES,
                maxRangeBytes: options.maxRangeBytes ?? DEFAULT_MAX_RANGE_BYTES,
                signal,
                progress,
              },
              desc,
              diffId,
            ),
          );
          r.requests = meter.requests;
          r.bytesFetched = meter.bytesReceived;
          return r;
        };
        const task = limit(run).catch((err: unknown) => {
          abort.abort(err);
          throw err;
        });
        if (!first.has(diffId)) first.set(diffId, { index: i, task });
        return task;
      });
      const settled = await Promise.allSettled(tasks);
      const failed = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
      if (failed) throw firstCause(settled, failed.reason);
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
    };
  } finally {
    if (!options.client) await client.close();
  }
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

/**
 * After one layer fails, the others are aborted and fail with abort errors: report the failure
 * that started it (the abort reason), not an abort.
 */
function firstCause(settled: PromiseSettledResult<unknown>[], fallback: unknown): unknown {
  for (const x of settled) {
    if (x.status === "rejected" && !isAbort(x.reason)) return x.reason;
  }
  return fallback;
}

function isAbort(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === "AbortError" || (err as { code?: string }).code === "ABORT_ERR")
  );
}
