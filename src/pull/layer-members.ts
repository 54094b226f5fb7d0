/** eStargz under verify "diff-id", the engine side of member-skeleton.ts. */
import type { Digest } from "../digest.js";
import type { EstargzLayer } from "../formats/estargz/reader.js";
import type { EstargzZstdLayer } from "../formats/estargz/zstd-flavour.js";
import type { Descriptor } from "../oci/types.js";
import type { BlobRef } from "../registry/context.js";
import { indexTar } from "./full.js";
import {
  type CountingSource,
  type LayerBase,
  type LayerContext,
  recordLayer,
} from "./layer-context.js";
import { fullLayer } from "./layer-full.js";
import { lookupStore } from "./lookup.js";
import { MIN_SKIP_SHARE, memberStream, planMembers } from "./member-skeleton.js";
import type { LayerResult } from "./types.js";

/**
 * eStargz under verify "diff-id" (member-skeleton.ts): fetch every member except the non-last
 * chunks the store holds, rebuild the stream, prove it by the diff_id, index it like a full pull.
 */
export async function memberPull(
  ctx: LayerContext,
  desc: Descriptor,
  diffId: Digest,
  blob: BlobRef,
  base: LayerBase,
  layer: EstargzLayer | EstargzZstdLayer,
  source: CountingSource,
): Promise<LayerResult> {
  const hits = await lookupStore(layer.files, ctx.store);
  const plan = planMembers(layer, desc.size, hits);
  if (plan.skippedBytes < MIN_SKIP_SHARE * desc.size) {
    const share = ((100 * plan.skippedBytes) / desc.size).toFixed(1);
    return fullLayer(
      ctx,
      desc,
      diffId,
      blob,
      base,
      layer.format,
      `${layer.format} layer (no tar-split) and the store holds only ${share}% of its bytes as whole chunks: a full pull is simpler`,
    );
  }
  ctx.progress({
    kind: "plan",
    layer: desc.digest,
    message: `${desc.digest}: ${layer.format}, ${plan.skippedChunks} chunks (${plan.skippedBytes} bytes) from the store, the other members fetched and proven by the diff_id`,
  });
  const r = await indexTar(
    memberStream(layer, plan, source, ctx.store, ctx.signal),
    diffId,
    ctx.store,
    desc.digest,
  );
  await recordLayer(ctx, desc, diffId, {
    format: layer.format,
    tocDigest: layer.tocDigest,
    verified: "diff-id",
    files: r.files,
    uncompressedSize: r.uncompressedSize,
    tarSplit: r.tarSplit,
  });
  return {
    ...base,
    format: layer.format,
    mode: "partial",
    ranges: source.ranges,
    filesTotal: r.files.length,
    filesFromStore: plan.filesTouched,
    chunksFromStore: plan.skippedChunks,
    verified: "diff-id",
  };
}
