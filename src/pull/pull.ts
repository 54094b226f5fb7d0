/**
 * `pull(reference, options)`: the library's main entry. Resolves the image (manifest digest and
 * config verified by the registry client), then brings every layer into the store, fetching only
 * what the store lacks, and proves each one against the config's rootfs.diff_ids.
 */
import { FormatError } from "../errors.js";
import { formatPlatform, parsePlatform } from "../oci/platform.js";
import type { Platform } from "../oci/types.js";
import { writeOciLayout } from "../output/oci-layout.js";
import { parseReference } from "../reference.js";
import { createRegistryClient, type RegistryClient } from "../registry/client.js";
import { openStore } from "../store/index.js";
import type { Store } from "../store/store.js";
import { pullLayer } from "./layer.js";
import type { LayerResult, PullOptions, PullResult } from "./types.js";

export type { LayerResult, ProgressEvent, PullOptions, PullResult, VerifyPolicy } from "./types.js";

const DEFAULT_BATCH_BYTES = 16 << 20;
const DEFAULT_MAX_RANGE_BYTES = 4 << 20;

export async function pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(reference);
  const client: RegistryClient =
    options.client ??
    createRegistryClient({
      ...(options.plainHttp ? { plainHttp: true } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
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
    let ociLayout: PullResult["ociLayout"];
    try {
      // Layers go one after another so each one's requests and bytes are its own; the ranges of
      // one layer are fetched concurrently.
      for (const [i, desc] of layers.entries()) {
        progress({
          kind: "layer-start",
          layer: desc.digest,
          message: `layer ${i + 1}/${layers.length} ${desc.digest}`,
        });
        const before = client.stats();
        const r = await pullLayer(
          {
            client,
            store,
            repo: { registry: ref.registry, repository: ref.repository },
            verify: options.verify ?? "diff-id",
            strict: options.strictFormat ?? false,
            concurrency: options.concurrency ?? 4,
            batchBytes: options.batchBytes ?? DEFAULT_BATCH_BYTES,
            maxRangeBytes: options.maxRangeBytes ?? DEFAULT_MAX_RANGE_BYTES,
            signal: options.signal,
            progress,
          },
          desc,
          diffIds[i]!,
        );
        const after = client.stats();
        r.requests = after.requests - before.requests;
        r.bytesFetched = after.bytesReceived - before.bytesReceived;
        results.push(r);
      }
      // Still under the pull marker: gc must not collect objects while they are exported.
      if (options.ociLayout) {
        progress({
          kind: "output",
          message: `writing an OCI image layout to ${options.ociLayout}`,
        });
        const written = await writeOciLayout(options.ociLayout, store, {
          configBytes: image.configBytes,
          diffIds,
          refName: ref.tag ?? ref.digest,
        });
        ociLayout = { dir: options.ociLayout, manifestDigest: written.manifestDigest };
      }
    } finally {
      await handle.end();
    }
    return {
      reference: ref.toString(),
      manifestDigest: image.manifestDigest,
      configDigest: image.configDigest,
      config: image.config,
      platform: formatPlatform({
        os: image.config.os,
        architecture: image.config.architecture,
        variant: image.config.variant,
      }),
      layers: results,
      bytesFetched: results.reduce((n, l) => n + l.bytesFetched, 0),
      requests: results.reduce((n, l) => n + l.requests, 0),
      ...(ociLayout ? { ociLayout } : {}),
    };
  } finally {
    if (!options.client) await client.close();
  }
}
