/** A layer pulled in full: stream, decompress, verify against the diff_id, index, record. */

import type { FileRef } from "../formats/layer-index.js";
import { layerCompression } from "../oci/media-types.js";
import type { WholeBlobAnswer } from "../registry/errors.js";
import { fullPull, type TocOutcome } from "./full.js";
import { type LayerContext, type LayerJob, layerBase, recordIndexed } from "./layer-context.js";
import type { LayerFormat, LayerResult } from "./types.js";

const FULL_PROGRESS_STEP = 1 << 20;

export interface FullPullReason {
  format: LayerFormat;
  reason?: string;
  /** The whole blob already on its way (an origin that ignored Range): read it, not a new GET. */
  answer?: WholeBlobAnswer;
  /** Not a fallback: the full path chosen on purpose (a cold store, cold.ts); said as a plan. */
  chosen?: string;
  /**
   * The layer's files as its verified TOC lists them: their chunks need no chunker (full.ts);
   * or discovery still running alongside the stream (cold.ts).
   */
  toc?: readonly FileRef[] | Promise<TocOutcome>;
}

export async function fullLayer(
  ctx: LayerContext,
  job: LayerJob,
  why: FullPullReason,
): Promise<LayerResult> {
  const { desc } = job;
  const { format, reason } = why;
  if (why.chosen)
    ctx.progress({ kind: "plan", layer: desc.digest, message: `${desc.digest}: ${why.chosen}` });
  if (reason)
    ctx.progress({
      kind: "fallback",
      layer: desc.digest,
      message: `${desc.digest}: full pull: ${reason}`,
    });
  const compression = layerCompression(desc.mediaType) ?? "none";
  const stream = why.answer ? why.answer.stream() : await job.blob.open(ctx.signal);
  let received = 0;
  let reported = 0;
  const onBytes = (n: number) => {
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
  };
  // A zstd:chunked blob from skopeo 1.9 decompresses to a tar without its trailing padding.
  const r = await fullPull(stream, compression, job.diffId, ctx.store, desc.digest, onBytes, {
    padding: format === "zstd:chunked",
    ...(why.toc ? { toc: why.toc } : {}),
  });
  await recordIndexed(ctx, job, format, r);
  return {
    ...layerBase(job),
    format,
    mode: "full",
    filesTotal: r.files.length,
    filesFromStore: r.filesFromStore,
    verified: "diff-id",
    ...(r.trailingPadding ? { trailingPadding: r.trailingPadding } : {}),
    ...(reason ? { fallbackReason: reason } : {}),
  };
}
