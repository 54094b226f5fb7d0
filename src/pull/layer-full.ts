/** A layer pulled in full: stream, decompress, verify against the diff_id, index, record. */
import type { Digest } from "../digest.js";
import { layerCompression } from "../oci/media-types.js";
import type { Descriptor } from "../oci/types.js";
import type { BlobRef } from "../registry/context.js";
import { fullPull } from "./full.js";
import { type LayerBase, type LayerContext, recordLayer } from "./layer-context.js";
import type { LayerFormat, LayerResult } from "./types.js";

const FULL_PROGRESS_STEP = 1 << 20;

export async function fullLayer(
  ctx: LayerContext,
  desc: Descriptor,
  diffId: Digest,
  blob: BlobRef,
  base: LayerBase,
  format: LayerFormat,
  reason: string | undefined,
): Promise<LayerResult> {
  if (reason)
    ctx.progress({
      kind: "fallback",
      layer: desc.digest,
      message: `${desc.digest}: full pull: ${reason}`,
    });
  const compression = layerCompression(desc.mediaType) ?? "none";
  const stream = await ctx.client.openBlob(blob, { signal: ctx.signal });
  let received = 0;
  let reported = 0;
  const r = await fullPull(stream, compression, diffId, ctx.store, desc.digest, (n) => {
    received += n;
    // One event per MiB (and the last piece): enough for a progress bar, not a flood.
    if (received - reported < FULL_PROGRESS_STEP && received < desc.size) return;
    reported = received;
    ctx.progress({
      kind: "fetch",
      layer: desc.digest,
      message: `${desc.digest}: ${received} of ${desc.size} bytes`,
      bytesFetched: received,
      bytesTotal: desc.size,
    });
  });
  await recordLayer(ctx, desc, diffId, {
    format,
    verified: "diff-id",
    files: r.files,
    uncompressedSize: r.uncompressedSize,
    tarSplit: r.tarSplit,
  });
  return {
    ...base,
    format,
    mode: "full",
    filesTotal: r.files.length,
    verified: "diff-id",
    ...(reason ? { fallbackReason: reason } : {}),
  };
}
