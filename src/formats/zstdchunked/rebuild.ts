/**
 * zstd:chunked rebuild strategies over a ContentSource: from the tar-split (the layer carries an
 * authenticated one), or from the frames between the payloads (rebuild-frames.ts) when it does
 * not. `rebuildTar` is the tar-split strategy over the blob alone.
 */
import { FallbackError } from "../../errors.js";
import { blobContent, type ContentSource, OFFLINE_READING } from "../content-source.js";
import type { RangeSource } from "../layer-index.js";
import { tarFromTarSplit } from "../tarsplit/rebuild.js";
import type { ZstdChunkedLayer } from "./reader.js";

export interface RebuildOptions {
  /**
   * The caller hashes the rebuilt tar against the diff_id: checks that digest makes redundant
   * (the tar-split's per-file CRC-64) are skipped.
   */
  diffIdFollows?: boolean;
}

/** The layer tar from its tar-split and each file's content from `source`. */
export function rebuildFromTarSplit(
  layer: ZstdChunkedLayer,
  tarSplit: Buffer,
  source: ContentSource,
  options: RebuildOptions = {},
): AsyncGenerator<Buffer> {
  return tarFromTarSplit(tarSplit, layer.files, (file) => source.file(file), {
    crc: !options.diffIdFollows,
  });
}

/** The authenticated tar-split, if the layer has one (TOC-bound, or the legacy annotation). */
export function authenticatedTarSplit(layer: ZstdChunkedLayer): Buffer | undefined {
  return layer.tarSplit ?? layer.legacyTarSplit;
}

/**
 * The layer tar, byte for byte, rebuilt from tar-split + ranged chunks. Throws FallbackError
 * ("no tar-split") for layers without an authenticated tar-split: `rebuildLayerTar` (open.ts)
 * rebuilds those from their frames instead.
 */
export async function* rebuildTar(
  src: RangeSource,
  layer: ZstdChunkedLayer,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const tarSplit = authenticatedTarSplit(layer);
  if (tarSplit === undefined) {
    throw new FallbackError(
      "no tar-split: this zstd:chunked layer carries no authenticated tar-split, so its tar cannot be rebuilt from its tar-split",
    );
  }
  yield* rebuildFromTarSplit(
    layer,
    tarSplit,
    blobContent(src, layer, { ...OFFLINE_READING, signal }),
  );
}
