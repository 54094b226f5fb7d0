/**
 * The cold-pull decision: when the store cannot hold any of a chunked layer (it has no objects
 * at all), fetching chunk ranges and probing the store per file buys nothing. The layer is then
 * taken as one streamed, resumable GET through the full-pull path (layer-full.ts): frames
 * decompressed ahead on the thread pool, the tar hashed against the diff_id as it streams (no
 * rebuild pass), objects staged and made durable by one barrier, no existence probes. Small
 * layers keep the range path: there its few requests cost less than the difference.
 */
import type { Descriptor } from "../oci/types.js";
import type { Store } from "../store/store.js";
import type { PullConfig } from "./config.js";

/** Why `desc` should be streamed whole into `store`, or undefined to pull it partially. */
export async function coldStreamReason(
  cfg: PullConfig,
  store: Store,
  desc: Descriptor,
): Promise<string | undefined> {
  if (desc.size < cfg.coldStreamMinBytes) return undefined;
  if (!(await store.hasNoObjects())) return undefined;
  return "the store is empty: one streamed GET";
}
