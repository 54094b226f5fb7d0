/**
 * `warm(reference)`: make a pull-through cache (or any mirror) hold an image before the fleet
 * asks it for ranges. A cache that is still filling answers `Range` with the whole blob, and
 * concurrent range requests for a blob it lacks can each start their own upstream download;
 * one plain GET per blob, read to the end, has the cache fetch each blob exactly once. The
 * bytes are verified like any other (a lying mirror is caught here too) and then dropped.
 */
import pLimit from "p-limit";
import type { Digest } from "../digest.js";
import type { Platform } from "../oci/types.js";
import { parseReference } from "../reference.js";
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from "./client.js";
import { type HostCount, hostCount, type Meter, newMeter, withMeter } from "./meter.js";
import { pastUntrustedMirrors } from "./mirror-attempts.js";

export interface WarmOptions {
  /** Use this client (with its mirrors configuration) instead of creating one. */
  client?: RegistryClient;
  /** Options for the client created when `client` is not given. */
  clientOptions?: RegistryClientOptions;
  /** Default: this host's platform. */
  platform?: Platform;
  /** Blobs read at once (default 3). */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface WarmedBlob {
  digest: Digest;
  size: number;
  /** `host[:port]` that sent the blob (the mirror, or the registry when every mirror failed). */
  host: string;
  bytesFetched: number;
}

export interface WarmResult {
  reference: string;
  manifestDigest: Digest;
  /** The layers, in manifest order (the config was read while resolving). */
  blobs: WarmedBlob[];
  bytesFetched: number;
  /** Requests and bytes per host, resolution included. */
  hosts: Record<string, HostCount>;
}

export async function warm(reference: string, options: WarmOptions = {}): Promise<WarmResult> {
  const client = options.client ?? createRegistryClient(options.clientOptions);
  const total = newMeter();
  try {
    return await withMeter(total, async () => {
      const ref = parseReference(client.qualify(reference));
      const image = await client.resolveImage(ref, {
        ...(options.platform ? { platform: options.platform } : {}),
        signal: options.signal,
      });
      const limit = pLimit(Math.max(1, options.concurrency ?? 3));
      const blobs = await Promise.all(
        image.manifest.layers.map((d) =>
          limit(async (): Promise<WarmedBlob> => {
            const meter = newMeter();
            const blob = {
              registry: ref.registry,
              repository: ref.repository,
              digest: d.digest,
              size: d.size,
            };
            // Wrong bytes from a mirror: it is left out for this blob, which is read elsewhere.
            const { servedBy } = await withMeter(meter, () =>
              pastUntrustedMirrors(client, d.digest, meter, options.signal, async () => {
                const stream = await client.openBlob(blob, { signal: options.signal });
                // Reading to the end is the point (the cache stores what it streamed); the
                // verifying stream fails here when the bytes do not match the digest.
                for await (const _ of stream) {
                  // dropped
                }
              }),
            );
            addMeter(total, meter);
            return {
              digest: d.digest,
              size: d.size,
              host: servedBy,
              bytesFetched: meter.bytesReceived,
            };
          }),
        ),
      );
      return {
        reference: ref.toString(),
        manifestDigest: image.manifestDigest,
        blobs,
        bytesFetched: total.bytesReceived,
        hosts: { ...total.hosts },
      };
    });
  } finally {
    if (!options.client) await client.close();
  }
}

function addMeter(into: Meter, from: Meter): void {
  into.requests += from.requests;
  into.bytesReceived += from.bytesReceived;
  for (const [host, c] of Object.entries(from.hosts ?? {})) {
    const t = hostCount(into, host);
    t.requests += c.requests;
    t.bytesReceived += c.bytesReceived;
  }
}
