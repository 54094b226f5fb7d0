/**
 * A mirror is never trusted, and some failures only show after its bytes were used: a chunk,
 * the TOC or a whole blob that does not verify, or a mirror breaking off mid-layer. Then every
 * mirror that was asked for that blob is left out for it, and the whole operation (a layer
 * pull) runs again against the next endpoint, finally the registry itself. Bytes that did
 * verify stay where they went (the store keeps only verified objects), so a retry fetches only
 * what is still missing.
 */
import type { Digest } from "../digest.js";
import type { RegistryClient } from "./client.js";
import { isAbortError } from "./http.js";
import { busiestHost, type HostCount, type Meter } from "./meter.js";

export interface MirrorAttemptResult<T> {
  result: T;
  /** The host that sent most bytes in the attempt that succeeded ("" when none were needed). */
  servedBy: string;
}

export async function pastUntrustedMirrors<T>(
  client: RegistryClient,
  digest: Digest,
  meter: Meter,
  signal: AbortSignal | undefined,
  attempt: () => Promise<T>,
): Promise<MirrorAttemptResult<T>> {
  for (;;) {
    const start = snapshotHosts(meter);
    try {
      const result = await attempt();
      const servedBy = busiestHost(hostsSince(meter, start)) || busiestHost(meter.hosts);
      return { result, servedBy };
    } catch (e) {
      if (signal?.aborted || isAbortError(e) || !client.distrustMirrors(digest)) throw e;
    }
  }
}

function snapshotHosts(meter: Meter): Record<string, HostCount> {
  return Object.fromEntries(Object.entries(meter.hosts ?? {}).map(([h, c]) => [h, { ...c }]));
}

/** Per-host counts added to `meter` since `since` was taken. */
function hostsSince(meter: Meter, since: Record<string, HostCount>): Record<string, HostCount> {
  return Object.fromEntries(
    Object.entries(meter.hosts ?? {}).map(([h, c]) => [
      h,
      {
        requests: c.requests - (since[h]?.requests ?? 0),
        bytesReceived: c.bytesReceived - (since[h]?.bytesReceived ?? 0),
      },
    ]),
  );
}

/** Per-host counts of several operations added up. */
export function sumHostCounts(
  all: Array<Record<string, HostCount> | undefined>,
): Record<string, HostCount> {
  const out: Record<string, HostCount> = {};
  for (const hosts of all) {
    for (const [host, c] of Object.entries(hosts ?? {})) {
      const t = out[host] ?? { requests: 0, bytesReceived: 0 };
      out[host] = t;
      t.requests += c.requests;
      t.bytesReceived += c.bytesReceived;
    }
  }
  return out;
}
