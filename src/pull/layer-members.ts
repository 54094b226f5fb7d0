/**
 * eStargz under verify "diff-id": the members strategy (formats/estargz/rebuild.ts) over the
 * store-first source, which skips the members of non-last chunks the store holds; the stream is
 * proven by the diff_id and indexed like a full pull (eStargz carries no tar-split to keep).
 */
import type { EstargzLayer } from "../formats/estargz/reader.js";
import { planMembers, rebuildFromMembers } from "../formats/estargz/rebuild.js";
import type { EstargzZstdLayer } from "../formats/estargz/zstd-flavour.js";
import { StoreFirstContent } from "./fetch.js";
import { indexTar } from "./full.js";
import { type LayerContext, type LayerJob, partialResult, recordIndexed } from "./layer-context.js";
import { fullLayer } from "./layer-full.js";
import { lookupStore } from "./lookup.js";
import type { LayerResult } from "./types.js";

/** Skipping must save at least this share of the blob, else a plain full pull is simpler. */
export const MIN_SKIP_SHARE = 0.05;

export async function memberPull(
  ctx: LayerContext,
  job: LayerJob,
  layer: EstargzLayer | EstargzZstdLayer,
): Promise<LayerResult> {
  const { desc } = job;
  const hits = await lookupStore(layer.files, ctx.store);
  const content = new StoreFirstContent(layer, undefined, hits, job.ranges, ctx.store, {
    reading: { batchBytes: ctx.cfg.batchBytes, ahead: 1, signal: ctx.signal },
    maxRangeBytes: ctx.cfg.maxRangeBytes,
  });
  const plan = planMembers(layer, desc.size, (f, c) => content.holds(f, c));
  if (plan.skippedBytes < MIN_SKIP_SHARE * desc.size) {
    const share = ((100 * plan.skippedBytes) / desc.size).toFixed(1);
    return fullLayer(ctx, job, {
      format: layer.format,
      reason: `${layer.format} layer (no tar-split) and the store holds only ${share}% of its bytes as whole chunks: a full pull is simpler`,
    });
  }
  ctx.progress({
    kind: "plan",
    layer: desc.digest,
    message: `${desc.digest}: ${layer.format}, ${plan.skippedChunks} chunks (${plan.skippedBytes} bytes) from the store, the other members fetched and proven by the diff_id`,
  });
  const r = await indexTar(
    rebuildFromMembers(layer, content, plan),
    job.diffId,
    ctx.store,
    desc.digest,
  );
  await recordIndexed(ctx, job, layer.format, r, layer.tocDigest);
  return partialResult(job, layer.format, "diff-id", {
    filesTotal: r.files.length,
    filesFromStore: plan.filesTouched,
    chunksFromStore: plan.skippedChunks,
  });
}
