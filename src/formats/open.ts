/**
 * Opens any chunked layer blob through THE format rule (detect.ts): annotations first, the
 * blob's footer when there are none. One entry point for the CLI, the benchmarks and the pull
 * engine, so every caller reads a layer the same way.
 */
import type { Digest } from "../digest.js";
import { FormatError, UnsupportedError } from "../errors.js";
import { blobContent, OFFLINE_READING } from "./content-source.js";
import {
  detectFromAnnotations,
  detectFromTail,
  FORMAT_TAIL_SIZE,
  type TailDetection,
} from "./detect.js";
import { type EstargzLayer, openEstargz } from "./estargz/reader.js";
import { type EstargzZstdLayer, openEstargzZstd } from "./estargz/zstd-flavour.js";
import type { RangeSource } from "./layer-index.js";
import { rebuild, strategyFor } from "./rebuild.js";
import { ESTARGZ_TOC_DIGEST_KEY } from "./zstdchunked/annotations.js";
import { openZstdChunked, type ZstdChunkedLayer } from "./zstdchunked/reader.js";

export type AnyChunkedLayer = ZstdChunkedLayer | EstargzLayer | EstargzZstdLayer;

export interface OpenLayerOptions {
  /** Reject layers that carry both the zstd:chunked and the eStargz TOC annotation. */
  strict?: boolean;
  /** The descriptor's media type (distinguishes eStargz from its zstd flavour). */
  mediaType?: string;
  signal?: AbortSignal;
}

/**
 * With annotations, the one they name (FallbackError when they name none). Without, the footer
 * decides; a 40-byte `GnUlInUx` footer is shared by c/storage v1 and stargz-snapshotter's zstd
 * flavour, so the TOC's shape settles it.
 */
export async function openChunkedLayer(
  src: RangeSource,
  annotations: Record<string, string> | undefined,
  opts: OpenLayerOptions = {},
): Promise<AnyChunkedLayer> {
  const { signal } = opts;
  if (annotations !== undefined) {
    const d = detectFromAnnotations(annotations, opts);
    if (d.layerFormat === "zstd:chunked") {
      // The rule took the zstd:chunked key; the reader must not see the eStargz key it overrode.
      const own = d.ambiguous ? withoutKey(annotations, ESTARGZ_TOC_DIGEST_KEY) : annotations;
      return openZstdChunked(src, { annotations: own, signal });
    }
    if (d.layerFormat === "estargz") return openEstargz(src, { annotations, signal });
    if (d.layerFormat === "estargz-zstd") return openEstargzZstd(src, { annotations, signal });
    // No TOC annotation: the footer may still describe a TOC (older writers); the caller decides
    // whether an unauthenticated TOC is acceptable (the pull engine checks the diff_id).
  }
  const length = Math.min(FORMAT_TAIL_SIZE, src.size);
  const [tail] = await src.read([{ offset: src.size - length, length }], signal);
  const t = detectFromTail(tail!, src.size);
  if (t.format === "zstd:chunked") {
    if (!t.alsoEstargzZstd) return openZstdChunked(src, { signal });
    try {
      return await openZstdChunked(src, { signal });
    } catch (err) {
      if (!(err instanceof FormatError || err instanceof UnsupportedError)) throw err;
      return openEstargzZstd(src, { signal });
    }
  }
  if (t.format === "estargz") return openEstargz(src, { signal });
  throw new FormatError(
    t.format === "none"
      ? "not a chunked layer: no zstd:chunked or eStargz footer and no TOC annotation"
      : `unsupported layer layout: ${t.format}`,
  );
}

function withoutKey(a: Record<string, string>, key: string): Record<string, string> {
  const copy = { ...a };
  delete copy[key];
  return copy;
}

/**
 * The layer's tar as a stream, from the blob alone; its sha256 is the diff_id the config must
 * list. zstd:chunked without a tar-split is rebuilt from its frames, like a pull does.
 */
export function rebuildLayerTar(
  src: RangeSource,
  layer: AnyChunkedLayer,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  return rebuild(strategyFor(layer), blobContent(src, layer, { ...OFFLINE_READING, signal }));
}

export interface LayerDescription {
  format: string;
  /** Human-readable footer: "variant A|B|C" (zstd:chunked), "51 bytes"/"47 bytes" (eStargz)... */
  footer?: string;
  /** zstd:chunked footer layout (spec §1.7), read from the tail even when annotations were used. */
  footerVariant?: "A" | "B" | "C";
  /** Footer payload size in bytes (40/56/64 zstd:chunked, 51/47 eStargz, 40 estargz-zstd). */
  footerSize?: number;
  tocDigest: Digest;
  tocSource: "annotations" | "footer";
  blobSize: number;
  tocEntries: number;
  files: number;
  chunks: number;
  zeroChunks: number;
  payloadBytes: number;
  /** An authenticated tar-split is available (zstd:chunked only; eStargz needs none). */
  hasTarSplit: boolean;
  tarSplit: string;
  uncompressedSize?: number;
}

/**
 * The blob's footer as detectFromTail sees it. Display only: `layer inspect` reports the footer
 * even when the annotations located the TOC, and nothing here is trusted.
 */
export async function readTailDetection(
  src: RangeSource,
  signal?: AbortSignal,
): Promise<TailDetection> {
  const length = Math.min(FORMAT_TAIL_SIZE, src.size);
  if (length === 0) return { format: "none" };
  const [tail] = await src.read([{ offset: src.size - length, length }], signal);
  return detectFromTail(tail!, src.size);
}

/** Facts about an opened layer, for `layer inspect`. `tail` fills in the footer when known. */
export function describeLayer(
  layer: AnyChunkedLayer,
  blobSize: number,
  tail?: TailDetection,
): LayerDescription {
  let chunks = 0;
  let zeroChunks = 0;
  let payloadBytes = 0;
  for (const f of layer.files) {
    chunks += f.chunks.length;
    zeroChunks += f.chunks.filter((c) => c.zeros).length;
    payloadBytes += f.size;
  }
  const base = {
    format: layer.format,
    tocDigest: layer.tocDigest,
    blobSize,
    tocEntries: layer.toc.entries.length,
    files: layer.files.length,
    chunks,
    zeroChunks,
    payloadBytes,
  };
  if (layer.format === "zstd:chunked") {
    const tarSplit = !layer.tarSplitPosition
      ? "absent"
      : layer.tarSplitTrust === "toc"
        ? `present, ${layer.tarSplitPosition.uncompressedLength} bytes, authenticated by the TOC`
        : layer.tarSplitTrust === "legacy-annotation"
          ? `present, ${layer.tarSplitPosition.uncompressedLength} bytes, authenticated by the tarsplit-checksum annotation`
          : `present, ${layer.tarSplitPosition.uncompressedLength} bytes, NOT authenticated (ignored)`;
    const variant =
      layer.footerVariant ?? (tail?.format === "zstd:chunked" ? tail.variant : undefined);
    const footerSize = variant === undefined ? undefined : ZSTD_FOOTER_SIZES[variant];
    return {
      ...base,
      footer: variant ? `variant ${variant}` : undefined,
      footerVariant: variant,
      footerSize,
      tocSource: layer.tocTrusted ? "annotations" : "footer",
      hasTarSplit: layer.hasTarSplit,
      tarSplit,
    };
  }
  const footerSize = layer.format === "estargz" ? layer.footer.size : 40;
  return {
    ...base,
    footer:
      layer.format === "estargz" ? `${footerSize} bytes` : `${footerSize} bytes, GnUlInUx magic`,
    footerSize,
    tocSource: layer.tocVerified ? "annotations" : "footer",
    hasTarSplit: false,
    tarSplit: "none (eStargz rebuilds the tar from its members)",
    uncompressedSize: layer.uncompressedSize,
  };
}

const ZSTD_FOOTER_SIZES = { A: 40, B: 56, C: 64 } as const;
