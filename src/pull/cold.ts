/**
 * The cold-pull decision: when the store cannot hold any of a chunked layer (it has no objects
 * at all), fetching chunk ranges and probing the store per file buys nothing. The layer is then
 * taken as one streamed, resumable GET through the full-pull path (layer-full.ts): frames
 * decompressed ahead on the thread pool, the tar hashed against the diff_id as it streams (no
 * rebuild pass), objects staged and made durable by one barrier, no existence probes. Small
 * layers keep the range path: there its few requests cost less than the difference.
 *
 * A layer whose annotations already name a chunked format does not wait for discovery: the GET
 * starts at once and the TOC is discovered alongside it (`tocAlongside`), since the stream only
 * needs the TOC's chunk lists when the objects are committed, at its very end.
 */
import { detectFromAnnotations } from "../formats/detect.js";
import type { Descriptor } from "../oci/types.js";
import type { Store } from "../store/store.js";
import type { PullConfig } from "./config.js";
import { discoverLayer } from "./discover.js";
import type { TocOutcome } from "./full.js";
import type { CountingSource } from "./layer-context.js";
import type { LayerFormat } from "./types.js";

const REASON = "the store is empty: one streamed GET";

/** Why `desc` should be streamed whole into `store`, or undefined to pull it partially. */
export async function coldStreamReason(
  cfg: PullConfig,
  store: Store,
  desc: Descriptor,
): Promise<string | undefined> {
  if (desc.size < cfg.coldStreamMinBytes) return undefined;
  if (!(await store.hasNoObjects())) return undefined;
  return REASON;
}

/**
 * Before discovery: the chunked format `desc`'s annotations name, when the layer is to be
 * streamed whole into `store`; undefined otherwise (no annotations, a plain layer, a store
 * with objects, a small layer), and discovery decides as usual.
 */
export async function coldStreamStart(
  cfg: PullConfig,
  store: Store,
  desc: Descriptor,
): Promise<{ format: LayerFormat; reason: string } | undefined> {
  if (desc.size < cfg.coldStreamMinBytes) return undefined;
  let format: LayerFormat | undefined;
  try {
    format = detectFromAnnotations(desc.annotations, {
      strict: cfg.strict,
      mediaType: desc.mediaType,
    }).layerFormat;
  } catch {
    return undefined; // discovery reports the annotations' problem
  }
  if (format === undefined) return undefined;
  if (!(await store.hasNoObjects())) return undefined;
  return { format, reason: REASON };
}

/**
 * Discover `desc` while its blob streams: resolves (never rejects, so nothing is left unhandled
 * while the stream runs) to the TOC's files, to nothing when discovery would have pulled the
 * layer whole anyway (its whole-blob answer, if any, is discarded unread), or to the error a
 * hostile or broken TOC raises, which the full pull rethrows at its end.
 */
export function tocAlongside(
  desc: Descriptor,
  source: CountingSource,
  cfg: PullConfig,
  signal?: AbortSignal,
): Promise<TocOutcome> {
  return discoverLayer(desc, source, cfg, signal).then(
    (d): TocOutcome => {
      if (d.kind === "full") {
        d.answer?.discard();
        return {};
      }
      return { files: d.kind === "toc" ? d.layer.files : d.strategy.layer.files };
    },
    (error: unknown): TocOutcome => ({ error }),
  );
}
