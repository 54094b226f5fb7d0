/**
 * Per-operation accounting that survives concurrency: requests sent and body bytes received
 * while a function runs (and in everything it awaits) are also counted on the meter it runs
 * under. The pull engine meters each layer this way, so layers can be pulled side by side and
 * still report their own bytes and round trips.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface HostCount {
  requests: number;
  bytesReceived: number;
}

export interface Meter {
  requests: number;
  bytesReceived: number;
  /** The same counts split by `host[:port]` that answered (mirrors, registry, token servers). */
  hosts?: Record<string, HostCount>;
}

/** The per-host counter of `meter` for `host`, created on first use. */
export function hostCount(meter: Meter, host: string): HostCount {
  meter.hosts ??= {};
  const c = meter.hosts[host] ?? { requests: 0, bytesReceived: 0 };
  meter.hosts[host] = c;
  return c;
}

const current = new AsyncLocalStorage<Meter>();

export function newMeter(): Meter {
  return { requests: 0, bytesReceived: 0 };
}

/** Run `fn` with `meter` counting every request the client sends on its behalf. */
export function withMeter<T>(meter: Meter, fn: () => Promise<T>): Promise<T> {
  return current.run(meter, fn);
}

/** The meter of the operation in progress, if any (read when a request is sent). */
export function currentMeter(): Meter | undefined {
  return current.getStore();
}

/** The host that sent the most body bytes ("" when nothing was received). */
export function busiestHost(hosts: Record<string, HostCount> | undefined): string {
  let best = "";
  let most = -1;
  for (const [host, c] of Object.entries(hosts ?? {})) {
    if (c.bytesReceived > most) {
      best = host;
      most = c.bytesReceived;
    }
  }
  return best;
}
