/**
 * One layer, start to finish, as one fixed pipeline: already in the store, or
 * discover -> plan -> fetch into the store -> format.rebuild -> verify -> record, with the
 * rebuild strategy chosen by discovery's type; or a full pull (stream -> verify -> index ->
 * record). A Range-ignoring origin's whole-blob answer becomes the full pull when the layer needs
 * much of its blob; otherwise it is dropped unread and the few ranges are read from one body.
 * A large chunked layer into a store with no objects takes the full pull on purpose (cold.ts),
 * started before discovery when its annotations name its format.
 */
import type { Digest } from "../digest.js";
import { ChunkpullError } from "../errors.js";
import type { ChunkedLayer, RangeSource } from "../formats/layer-index.js";
import { type RebuildStrategy, rebuild } from "../formats/rebuild.js";
import type { Descriptor } from "../oci/types.js";
import { RangeIgnoredError, RangeResponseError } from "../registry/errors.js";
import { coldStreamReason, coldStreamStart, tocAlongside } from "./cold.js";
import { FULL_PULL_SHARE } from "./config.js";
import { discoverLayer } from "./discover.js";
import { inContext, LayerStoppedError } from "./errors.js";
import { StoreFirstContent } from "./fetch.js";
import {
  countingSource,
  type LayerContext,
  type LayerJob,
  layerBase,
  partialResult,
  recordLayer,
} from "./layer-context.js";
import { fullLayer } from "./layer-full.js";
import {
  littleHeldReason,
  memberPull,
  storeTocEntryFiles,
  tocHeadersMiss,
} from "./layer-members.js";
import { lookupStore } from "./lookup.js";
import { type Plan, planLayer } from "./plan.js";
import type { LayerFormat, LayerResult, VerifyPolicy } from "./types.js";
import { TarDigestMismatchError, verifyTar } from "./verify.js";

/** One layer; its failure names this layer (a new error of the same class, the original as cause). */
export async function pullLayer(
  ctx: LayerContext,
  desc: Descriptor,
  diffId: Digest,
): Promise<LayerResult> {
  const blob = ctx.blobs(desc);
  try {
    return await pullOneLayer(ctx, { desc, diffId, blob, ranges: countingSource(blob.ranges) });
  } catch (err) {
    // Stopped because another layer failed: say so, and do not claim that layer's error.
    const reason: unknown = ctx.signal?.aborted ? ctx.signal.reason : undefined;
    if (reason instanceof ChunkpullError && (err === reason || !(err instanceof ChunkpullError))) {
      throw new LayerStoppedError(desc.digest, reason);
    }
    if (err instanceof ChunkpullError && !err.message.includes(desc.digest)) {
      throw inContext(err, `layer ${desc.digest}`);
    }
    throw err;
  } finally {
    blob.release();
  }
}

async function pullOneLayer(ctx: LayerContext, job: LayerJob): Promise<LayerResult> {
  const { desc, diffId } = job;
  const stored = await ctx.store.getLayer(diffId);
  if (stored && (stored.record.verified === "diff-id" || ctx.cfg.verify === "toc")) {
    ctx.progress({
      kind: "layer-done",
      layer: desc.digest,
      message: `${desc.digest}: already in the store`,
    });
    const files = stored.record.objects.length;
    return {
      ...layerBase(job),
      format: stored.record.format as LayerFormat,
      mode: "cached",
      filesTotal: files,
      filesFromStore: files,
      verified: stored.record.verified,
    };
  }
  const early = await coldStreamStart(ctx.cfg, ctx.store, desc);
  if (early) {
    const toc = tocAlongside(desc, job.ranges, ctx.cfg, ctx.signal);
    return fullLayer(ctx, job, { format: early.format, chosen: early.reason, toc });
  }
  const discovery = await discoverLayer(desc, job.ranges, ctx.cfg, ctx.signal);
  if (discovery.kind !== "full") {
    const layer = discovery.kind === "toc" ? discovery.layer : discovery.strategy.layer;
    const chosen = await coldStreamReason(ctx.cfg, ctx.store, desc);
    if (chosen) return fullLayer(ctx, job, { format: layer.format, chosen, toc: layer.files });
  }
  switch (discovery.kind) {
    case "full":
      return fullLayer(ctx, job, discovery);
    case "toc":
      return chunkPull(ctx, job, discovery.layer, {
        verified: "toc",
        uncompressedSize: discovery.layer.uncompressedSize ?? 0,
      });
    case "rebuild": {
      const { strategy } = discovery;
      if (strategy.kind === "members") {
        return withWholeBody(ctx, job, strategy.layer.format, () => memberPull(ctx, job, strategy));
      }
      if (strategy.kind === "toc-headers") return tocHeadersPull(ctx, job, strategy);
      return chunkPull(ctx, job, strategy.layer, { verified: "diff-id", strategy });
    }
  }
}

/**
 * eStargz: its headers regenerated from the TOC; a tar that misses the diff_id (or an entry
 * the TOC cannot describe) is followed by the members strategy, not by a careful second run.
 */
async function tocHeadersPull(
  ctx: LayerContext,
  job: LayerJob,
  strategy: Extract<RebuildStrategy, { kind: "toc-headers" }>,
): Promise<LayerResult> {
  ctx.progress({
    kind: "plan",
    layer: job.desc.digest,
    message: `${job.desc.digest}: ${strategy.layer.format}, tar headers regenerated from the TOC (${strategy.flavour} format); no member fetched`,
  });
  try {
    return await chunkPull(ctx, job, strategy.layer, { verified: "diff-id", strategy });
  } catch (err) {
    const why = tocHeadersMiss(err);
    if (why === undefined) throw err;
    const members = { kind: "members", layer: strategy.layer, why } as const;
    return withWholeBody(ctx, job, strategy.layer.format, () => memberPull(ctx, job, members));
  }
}

/** Runs a partial path; an origin found to ignore Range mid-way makes it a full pull. */
async function withWholeBody(
  ctx: LayerContext,
  job: LayerJob,
  format: LayerFormat,
  run: () => Promise<LayerResult>,
): Promise<LayerResult> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RangeIgnoredError) {
      return fullLayer(ctx, job, { format, reason: err.message, answer: err.answer });
    }
    throw err;
  }
}

type ChunkProof =
  | { verified: "toc"; uncompressedSize: number }
  | { verified: "diff-id"; strategy: RebuildStrategy };

/**
 * Plan, fetch into the store and rebuild+verify a layer whose files the TOC lists chunk by
 * chunk (zstd:chunked from its tar-split or frames; eStargz under verify "toc").
 */
async function chunkPull(
  ctx: LayerContext,
  job: LayerJob,
  layer: ChunkedLayer,
  proof: ChunkProof,
  source: RangeSource = job.ranges,
  careful = false,
): Promise<LayerResult> {
  const { desc } = job;
  if (proof.verified === "diff-id" && proof.strategy.kind === "frames") {
    ctx.progress({
      kind: "plan",
      layer: desc.digest,
      message: `${desc.digest}: no tar-split; the tar's headers will come from the frames between the files`,
    });
  }
  const hits = await lookupStore(layer.files, ctx.store);
  const plan = planLayer(layer.files, hits.haveFile, hits.haveChunk, {
    blobSize: desc.size,
    alwaysMergeGap: ctx.cfg.mergeGapBytes,
  });
  const t = plan.totals;
  if (proof.verified === "diff-id" && proof.strategy.kind === "toc-headers") {
    const reason = littleHeldReason(layer.format, t.bytesSaved, desc.size);
    if (reason) return fullLayer(ctx, job, { format: layer.format, reason });
  }
  ctx.progress({
    kind: "plan",
    layer: desc.digest,
    message: `${desc.digest}: ${layer.format}, ${t.files} files (${t.filesFromStore} in store), ${t.remoteChunks} chunks to fetch in ${t.rangeCount} ranges (${t.bytesToFetch} bytes)`,
    bytesTotal: t.bytesToFetch,
  });
  let received = 0;
  const content = new StoreFirstContent(layer, plan, hits, source, ctx.store, {
    reading: { batchBytes: ctx.cfg.batchBytes, ahead: ctx.cfg.batchesAhead, signal: ctx.signal },
    maxRangeBytes: ctx.cfg.maxRangeBytes,
    maxRangesPerRequest: ctx.cfg.batchRanges,
    // Held files are proven by the diff_id, not hashed one by one, unless this is the careful
    // second run after the diff_id failed (below).
    diffIdFollows: proof.verified === "diff-id" && !careful,
    onBytes: (n) => {
      received += n;
      ctx.progress({
        kind: "fetch",
        layer: desc.digest,
        message: `${desc.digest}: ${received} of ${t.bytesToFetch} bytes of chunks`,
        bytesFetched: received,
        bytesTotal: t.bytesToFetch,
      });
    },
  });
  let proven: { size: number; tarSplit?: Buffer; trailingPadding?: number };
  try {
    proven = await rebuildAndVerify(ctx, job, content, proof);
    await content.finish();
  } catch (err) {
    await content.close();
    const tocHeaders = proof.verified === "diff-id" && proof.strategy.kind === "toc-headers";
    if (err instanceof TarDigestMismatchError && !careful && !tocHeaders) {
      // Something the store held may be damaged in a way its cheap check missed (bit rot under
      // an intact stamp), or the layer is wrong. Hash every held file this time: a damaged one
      // is removed and fetched again (NotInStoreError, pull.ts); a wrong layer fails again.
      ctx.progress({
        kind: "verify",
        layer: desc.digest,
        message: `${desc.digest}: ${err.message}; checking every file the store held`,
      });
      return chunkPull(ctx, job, layer, proof, source, true);
    }
    if (err instanceof RangeIgnoredError) {
      if (takeWholeBody(plan, desc.size, ctx.cfg.batchBytes, proof)) {
        return fullLayer(ctx, job, {
          format: layer.format,
          reason: err.message,
          answer: err.answer,
        });
      }
      // Few bytes wanted: drop the whole blob unread and read the ranges from one body.
      err.answer.discard();
      return chunkPull(ctx, job, layer, proof, job.blob.collect);
    }
    // A server that refuses even single ranges: the blob itself is still there in full.
    if (err instanceof RangeResponseError) {
      return fullLayer(ctx, job, {
        format: layer.format,
        reason: `range requests failed: ${err.message}`,
      });
    }
    throw err;
  }
  const verified: VerifyPolicy = proof.verified;
  // The regenerated tar also holds the landmark and the TOC entry; its tar-split names them.
  const extra =
    proof.verified === "diff-id" && proof.strategy.kind === "toc-headers"
      ? await storeTocEntryFiles(ctx.store, proof.strategy.layer)
      : [];
  await recordLayer(ctx, job, {
    format: layer.format,
    tocDigest: layer.tocDigest,
    verified,
    files: [...layer.files, ...extra],
    uncompressedSize: proven.size,
    tarSplit: proven.tarSplit,
  });
  return {
    ...partialResult(job, layer.format, verified, {
      filesTotal: t.files,
      filesFromStore: t.filesFromStore,
      chunksFromStore: t.chunksFromStore,
    }),
    ...(proven.trailingPadding ? { trailingPadding: proven.trailingPadding } : {}),
  };
}

/** format.rebuild -> verify (diff-id), or only the fetch into the store (verify "toc"). */
async function rebuildAndVerify(
  ctx: LayerContext,
  job: LayerJob,
  content: StoreFirstContent,
  proof: ChunkProof,
): Promise<{ size: number; tarSplit?: Buffer; trailingPadding?: number }> {
  if (proof.verified === "toc") return { size: proof.uncompressedSize };
  ctx.progress({
    kind: "verify",
    layer: job.desc.digest,
    message: `${job.desc.digest}: rebuilding the tar to check the diff_id`,
  });
  const { strategy } = proof;
  // Only a tar rebuilt from its frames can lack the trailing padding a legacy writer cut.
  // toc-headers knows every header it writes: it builds the tar-split itself, no parsing.
  const generated: { lines?: string[] } = {};
  const tar = rebuild(strategy, content, { diffIdFollows: true, tarSplit: generated });
  const r = await verifyTar(tar, job.diffId, job.desc.digest, {
    describe: strategy.kind === "frames" || strategy.kind === "members",
    padding: strategy.kind === "frames",
  });
  if (strategy.kind === "toc-headers") {
    return { size: r.size, tarSplit: generated.lines && Buffer.from(generated.lines.join("")) };
  }
  if (r.trailingPadding) {
    ctx.progress({
      kind: "verify",
      layer: job.desc.digest,
      message: `${job.desc.digest}: the blob's tar lacks its trailing padding; the diff_id holds with ${r.trailingPadding} zero bytes appended`,
    });
  }
  return strategy.kind === "tar-split" ? { size: r.size, tarSplit: strategy.tarSplit } : r;
}

/**
 * Whether an origin's whole-blob answer should become this layer's full pull: always for the
 * frames strategy (its skeleton spans the whole data area), when the store gives nothing, or
 * when the layer needs much of its blob or more than one batch can hold.
 */
function takeWholeBody(plan: Plan, size: number, batchBytes: number, proof: ChunkProof): boolean {
  if (proof.verified === "diff-id" && proof.strategy.kind === "frames") return true;
  const t = plan.totals;
  if (t.filesFromStore === 0 && t.chunksFromStore === 0) return true;
  return t.bytesToFetch >= FULL_PULL_SHARE * size || t.bytesToFetch > batchBytes;
}
