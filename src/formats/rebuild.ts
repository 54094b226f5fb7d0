/**
 * Which rebuild strategy a chunked layer takes, decided by its format and what it carries, and
 * the one `rebuild(strategy, source)` that runs it over a ContentSource. The union ties each
 * strategy to the layer type it works on, so no caller needs a runtime check.
 */

import type { ContentSource } from "./content-source.js";
import type { EstargzLayer } from "./estargz/reader.js";
import { rebuildFromMembers } from "./estargz/rebuild.js";
import {
  type HeaderFlavour,
  rebuildFromTocHeaders,
  type TarSplitSink,
} from "./estargz/toc-headers.js";
import type { EstargzZstdLayer } from "./estargz/zstd-flavour.js";
import type { ZstdChunkedLayer } from "./zstdchunked/reader.js";
import {
  authenticatedTarSplit,
  rebuildFromTarSplit,
  type RebuildOptions as TarSplitOptions,
} from "./zstdchunked/rebuild.js";
import { rebuildFromFrames } from "./zstdchunked/rebuild-frames.js";

export interface RebuildOptions extends TarSplitOptions {
  /** Strategies that generate every header (toc-headers) leave the tar's tar-split here. */
  tarSplit?: TarSplitSink;
}

export type RebuildStrategy =
  /** zstd:chunked with an authenticated tar-split: segments verbatim, files filled in. */
  | { kind: "tar-split"; layer: ZstdChunkedLayer; tarSplit: Buffer }
  /** zstd:chunked without one: the frames between the payloads hold the rest of the tar. */
  | { kind: "frames"; layer: ZstdChunkedLayer }
  /** eStargz (both flavours): the members decompress to the tar; held chunks are skipped. */
  | { kind: "members"; layer: EstargzLayer | EstargzZstdLayer; why?: string }
  /**
   * eStargz (both flavours): every header regenerated from the TOC as the Go writer wrote it,
   * files filled in, no member read (estargz/toc-headers.ts); members follow when it misses.
   */
  | { kind: "toc-headers"; layer: EstargzLayer | EstargzZstdLayer; flavour: HeaderFlavour };

export function strategyFor(
  layer: ZstdChunkedLayer | EstargzLayer | EstargzZstdLayer,
): RebuildStrategy {
  if (layer.format !== "zstd:chunked") return { kind: "members", layer };
  const tarSplit = authenticatedTarSplit(layer);
  return tarSplit ? { kind: "tar-split", layer, tarSplit } : { kind: "frames", layer };
}

/** The layer tar, byte for byte; its sha256 must be the config's diff_id. */
export function rebuild(
  strategy: RebuildStrategy,
  source: ContentSource,
  options: RebuildOptions = {},
): AsyncGenerator<Buffer> {
  switch (strategy.kind) {
    case "tar-split":
      return rebuildFromTarSplit(strategy.layer, strategy.tarSplit, source, options);
    case "frames":
      return rebuildFromFrames(strategy.layer, source);
    case "members":
      return rebuildFromMembers(strategy.layer, source);
    case "toc-headers":
      return rebuildFromTocHeaders(strategy.layer, source, strategy.flavour, options.tarSplit);
  }
}
