/**
 * TOC discovery: decides, per layer, what the pipeline does with it, using THE format rule
 * (formats/detect.ts via formats/open.ts): a rebuild strategy proven by the diff_id, a TOC
 * accepted on its digest (verify "toc"), or a full pull. Layers without annotations are still
 * tried through their footer: the diff_id check at the end makes an unauthenticated TOC safe to
 * plan with. An origin that ignores Range shows it here, on the first metadata request, and its
 * whole-blob answer becomes the full pull.
 */
import {
  ChunkpullError,
  FallbackError,
  FormatError,
  LimitExceededError,
  UnsupportedError,
} from "../errors.js";
import { detectFromAnnotations } from "../formats/detect.js";
import { probeHeaderFlavour } from "../formats/estargz/header-probe.js";
import type { EstargzLayer } from "../formats/estargz/reader.js";
import type { EstargzZstdLayer } from "../formats/estargz/zstd-flavour.js";
import type { RangeSource } from "../formats/layer-index.js";
import { type AnyChunkedLayer, openChunkedLayer } from "../formats/open.js";
import { type RebuildStrategy, strategyFor } from "../formats/rebuild.js";
import { layerCompression } from "../oci/media-types.js";
import type { Descriptor } from "../oci/types.js";
import { RangeIgnoredError, RangeResponseError, type WholeBlobAnswer } from "../registry/errors.js";
import type { PullConfig } from "./config.js";
import type { LayerFormat } from "./types.js";

export type Discovery =
  /** Rebuilt by a format strategy, then proven by the diff_id. */
  | { kind: "rebuild"; strategy: RebuildStrategy }
  /** verify "toc": files fetched into the store, the layer accepted on its TOC digest. */
  | { kind: "toc"; layer: EstargzLayer | EstargzZstdLayer }
  /** Streamed in full; `answer` when the origin already sent the whole blob. */
  | { kind: "full"; format: LayerFormat; reason?: string; answer?: WholeBlobAnswer };

export async function discoverLayer(
  desc: Descriptor,
  source: RangeSource,
  cfg: Pick<PullConfig, "verify" | "strict">,
  signal?: AbortSignal,
): Promise<Discovery> {
  const compression = layerCompression(desc.mediaType);
  if (compression === undefined) {
    throw new UnsupportedError(
      `layer ${desc.digest} has media type ${desc.mediaType}, not a layer`,
    );
  }
  const plain: LayerFormat = compression === "none" ? "tar" : compression;
  const detected = detectFromAnnotations(desc.annotations, {
    strict: cfg.strict,
    mediaType: desc.mediaType,
  });
  const annotated = detected.format !== "none";
  // Without annotations only a zstd:chunked footer (whose tar-split or frames make the diff_id
  // check possible) can lead to a partial pull: an eStargz TOC found through a gzip footer is
  // authenticated by nothing, so it is full under either policy, and probing would cost a
  // request for nothing.
  if (!annotated && compression !== "zstd") return { kind: "full", format: plain };

  let layer: AnyChunkedLayer;
  try {
    layer = await openChunkedLayer(source, annotated ? desc.annotations : undefined, {
      strict: cfg.strict,
      mediaType: desc.mediaType,
      signal,
    });
  } catch (err) {
    if (err instanceof RangeIgnoredError) {
      // The metadata sits at the end of the blob: reading it means reading the blob.
      const format = detected.layerFormat ?? plain;
      return { kind: "full", format, reason: err.message, answer: err.answer };
    }
    if (err instanceof RangeResponseError) {
      return { kind: "full", format: plain, reason: `range requests refused: ${err.message}` };
    }
    if (!annotated) {
      // No annotation vouches for anything here: whatever the tail says, a full pull is right.
      if (!(err instanceof ChunkpullError)) throw err;
      const reason = footerReason(err);
      return reason ? { kind: "full", format: plain, reason } : { kind: "full", format: plain };
    }
    if (err instanceof FallbackError) return { kind: "full", format: plain, reason: err.message };
    throw err;
  }

  const strategy = strategyFor(layer);
  // zstd:chunked always rebuilds (from its tar-split, or from its frames without one).
  if (strategy.kind !== "members") return { kind: "rebuild", strategy };
  if (cfg.verify === "toc") {
    if (strategy.layer.tocVerified) return { kind: "toc", layer: strategy.layer };
    return {
      kind: "full",
      format: layer.format,
      reason: `${layer.format} layer (no tar-split) and no TOC digest annotation to trust`,
    };
  }
  // eStargz under "diff-id": first its headers regenerated from the TOC (nothing but the
  // changed files' chunks fetched); the members around the store's chunks are fetched when a
  // probe or the diff_id says the TOC does not describe them. The pipeline pulls in full when
  // the store holds too little to be worth it.
  try {
    const probe = await probeHeaderFlavour(strategy.layer, source, signal);
    if ("miss" in probe) return { kind: "rebuild", strategy: { ...strategy, why: probe.miss } };
    return {
      kind: "rebuild",
      strategy: { kind: "toc-headers", layer: strategy.layer, flavour: probe.flavour },
    };
  } catch (err) {
    if (err instanceof RangeIgnoredError) {
      return { kind: "full", format: layer.format, reason: err.message, answer: err.answer };
    }
    if (!(err instanceof FormatError || err instanceof LimitExceededError)) throw err;
    const why = `the landmark member could not be read: ${err.message}`;
    return { kind: "rebuild", strategy: { ...strategy, why } };
  }
}

/** A plain zstd layer is simply pulled in full; a broken chunked footer is worth a reason. */
function footerReason(err: ChunkpullError): string | undefined {
  if (err instanceof FormatError && /not a chunked layer/.test(err.message)) return undefined;
  return `no chunked-format annotation; footer unusable: ${err.message}`;
}
