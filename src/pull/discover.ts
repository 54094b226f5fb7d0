/**
 * TOC discovery: decides, per layer, between a partial pull (with a verified TOC in hand) and a
 * full pull, using THE format rule (formats/detect.ts via formats/open.ts). Layers without
 * annotations are still tried through their footer: the diff_id check at the end makes an
 * unauthenticated TOC safe to plan with.
 */
import { ChunkpullError, FallbackError, FormatError, UnsupportedError } from "../errors.js";
import { detectFromAnnotations } from "../formats/detect.js";
import type { RangeSource } from "../formats/layer-index.js";
import { type AnyChunkedLayer, openChunkedLayer } from "../formats/open.js";
import { layerCompression } from "../oci/media-types.js";
import type { Descriptor } from "../oci/types.js";
import { RangeResponseError } from "../registry/errors.js";
import type { LayerFormat, VerifyPolicy } from "./types.js";

export type Discovery =
  | {
      path: "partial";
      layer: AnyChunkedLayer;
      /** How the rebuilt layer is checked: tar-split rebuild against the diff_id, or TOC only. */
      verified: VerifyPolicy;
      /** Where the tar's non-payload bytes come from: the tar-split, the skeleton frames (see skeleton.ts), or nowhere ("toc"). */
      rebuild: "tar-split" | "skeleton" | "members" | "none";
    }
  | { path: "full"; format: LayerFormat; reason?: string };

export interface DiscoverOptions {
  verify: VerifyPolicy;
  strict: boolean;
  signal?: AbortSignal;
}

export async function discoverLayer(
  desc: Descriptor,
  source: RangeSource,
  opts: DiscoverOptions,
): Promise<Discovery> {
  const compression = layerCompression(desc.mediaType);
  if (compression === undefined) {
    throw new UnsupportedError(
      `layer ${desc.digest} has media type ${desc.mediaType}, not a layer`,
    );
  }
  const plain: LayerFormat = compression === "none" ? "tar" : compression;
  const detected = detectFromAnnotations(desc.annotations, {
    strict: opts.strict,
    mediaType: desc.mediaType,
  });
  const annotated = detected.format !== "none";
  // Without annotations only a zstd:chunked footer (whose tar-split makes the diff_id check
  // possible) can lead to a partial pull: an eStargz TOC found through a gzip footer is
  // authenticated by nothing, so it is full under either policy, and probing would cost a
  // request for nothing.
  if (!annotated && compression !== "zstd") return { path: "full", format: plain };

  let layer: AnyChunkedLayer;
  try {
    layer = await openChunkedLayer(source, annotated ? desc.annotations : undefined, {
      strict: opts.strict,
      mediaType: desc.mediaType,
      signal: opts.signal,
    });
  } catch (err) {
    if (!annotated) {
      // No annotation vouches for anything here: whatever the tail says, a full pull is right.
      if (err instanceof ChunkpullError && !(err instanceof RangeResponseError)) {
        const reason = footerReason(err);
        return reason ? { path: "full", format: plain, reason } : { path: "full", format: plain };
      }
      if (err instanceof RangeResponseError) {
        return { path: "full", format: plain, reason: `range requests refused: ${err.message}` };
      }
      throw err;
    }
    if (err instanceof FallbackError || err instanceof RangeResponseError) {
      return { path: "full", format: plain, reason: err.message };
    }
    throw err;
  }

  if (layer.format === "zstd:chunked") {
    // Without a tar-split, the skeleton frames between the payloads hold the rest of the tar:
    // still a partial pull, still proven by the diff_id.
    return {
      path: "partial",
      layer,
      verified: "diff-id",
      rebuild: layer.hasTarSplit ? "tar-split" : "skeleton",
    };
  }
  if (opts.verify === "toc" && layer.tocVerified) {
    return { path: "partial", layer, verified: "toc", rebuild: "none" };
  }
  if (opts.verify === "diff-id") {
    // eStargz: the members around the store's chunks are fetched and the stream proven
    // (member-skeleton.ts); the engine falls back to a full pull when the store holds too little.
    return { path: "partial", layer, verified: "diff-id", rebuild: "members" };
  }
  const why = `${layer.format} layer (no tar-split)`;
  return {
    path: "full",
    format: layer.format,
    reason:
      opts.verify === "toc"
        ? `${why} and no TOC digest annotation to trust`
        : `${why}: its tar cannot be checked against the diff_id from ranges (use --verify toc to accept the TOC)`,
  };
}

/** A plain zstd layer is simply pulled in full; a broken chunked footer is worth a reason. */
function footerReason(err: ChunkpullError): string | undefined {
  if (err instanceof FormatError && /not a chunked layer/.test(err.message)) return undefined;
  return `no chunked-format annotation; footer unusable: ${err.message}`;
}
