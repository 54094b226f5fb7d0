/**
 * One layer, start to finish: already in the store, partial pull (discover -> plan -> fetch ->
 * rebuild+verify -> record) or full pull (stream -> verify -> index -> record).
 */
import type { Digest } from "../digest.js";
import { ChunkpullError } from "../errors.js";
import type { RangeSource } from "../formats/layer-index.js";
import { SKIPPABLE_HEADER_SIZE } from "../formats/zstd.js";
import type { Descriptor } from "../oci/types.js";
import type { BlobRef } from "../registry/context.js";
import { RangeResponseError } from "../registry/errors.js";
import { currentMeter } from "../registry/meter.js";
import { filesByCleanPath } from "../store/layer-tar.js";
import { type Discovery, discoverLayer } from "./discover.js";
import { fetchPlan } from "./fetch.js";
import { countingSource, type LayerContext, recordLayer } from "./layer-context.js";
import { fullLayer } from "./layer-full.js";
import { memberPull } from "./layer-members.js";
import { lookupStore } from "./lookup.js";
import { planLayer } from "./plan.js";
import { rebuildAndVerify } from "./rebuild.js";
import { rebuildFromSkeleton, skeletonOf } from "./skeleton.js";
import type { LayerFormat, LayerResult } from "./types.js";

/**
 * Gaps between wanted chunks up to this many bytes are fetched through. Each separate range
 * costs a multipart part header in the answer (Go's: CRLF, 60-character boundary, Content-Type
 * and Content-Range lines, ~150 bytes) plus ~16 bytes in the Range header, so merging a gap
 * shorter than that transfers fewer bytes, and merging a longer one more. (c/storage merges
 * gaps up to 1 KiB, which doubles the transfer when small changed files alternate with kept
 * ones; see docs/pull.md.)
 */
const MERGE_GAP_BYTES = 160;

/**
 * A registry that ignores Range answers with the whole blob, and the client then reads each
 * batch from byte 0. Seen as: far more body bytes received than asked for (a multi-range request
 * refused with a 200 costs only the few bytes read before the client hangs up).
 */
function rangesIgnored(received: number, asked: number, blobSize: number): string | undefined {
  if (received <= asked + Math.max(64 << 10, blobSize / 2)) return undefined;
  return `the registry ignores Range (${received} bytes received for ${asked} asked)`;
}

/** One layer; every failure names the layer (errors keep their class, the message gains context). */
export async function pullLayer(
  ctx: LayerContext,
  desc: Descriptor,
  diffId: Digest,
): Promise<LayerResult> {
  try {
    return await pullOneLayer(ctx, desc, diffId);
  } catch (err) {
    if (err instanceof ChunkpullError && !err.message.includes(desc.digest)) {
      err.message = `layer ${desc.digest}: ${err.message}`;
    }
    throw err;
  }
}

async function pullOneLayer(
  ctx: LayerContext,
  desc: Descriptor,
  diffId: Digest,
): Promise<LayerResult> {
  const base = {
    digest: desc.digest,
    diffId,
    mediaType: desc.mediaType,
    size: desc.size,
    bytesFetched: 0,
    requests: 0,
    ranges: 0,
    filesTotal: 0,
    filesFromStore: 0,
    chunksFromStore: 0,
  };
  const stored = await ctx.store.getLayer(diffId);
  if (stored && (stored.record.verified === "diff_id" || ctx.verify === "toc")) {
    ctx.progress({
      kind: "layer-done",
      layer: desc.digest,
      message: `${desc.digest}: already in the store`,
    });
    return {
      ...base,
      format: stored.record.format as LayerFormat,
      mode: "cached",
      verified: stored.record.verified === "diff_id" ? "diff-id" : "toc",
    };
  }
  const blob: BlobRef = { ...ctx.repo, digest: desc.digest, size: desc.size };
  const source = countingSource(ctx.client.rangeSource(blob, desc.size));
  // This layer's own count (pull.ts runs each layer under a meter), so layers can run in parallel.
  const meter = currentMeter();
  const receivedBefore = meter?.bytesReceived ?? 0;
  const discovery = await discoverLayer(desc, source, {
    verify: ctx.verify,
    strict: ctx.strict,
    signal: ctx.signal,
  });
  const ignored = rangesIgnored(
    (meter?.bytesReceived ?? 0) - receivedBefore,
    source.bytes,
    desc.size,
  );
  if (discovery.path === "partial" && ignored) {
    // Every further batch of ranges would cost the blob up to its last range again: one
    // streamed full download is cheaper and needs no buffering.
    return fullLayer(ctx, desc, diffId, blob, base, discovery.layer.format, ignored);
  }
  if (discovery.path === "partial" && discovery.rebuild === "members") {
    const layer = discovery.layer;
    if (layer.format === "zstd:chunked")
      throw new Error("internal: members rebuild is for eStargz");
    return memberPull(ctx, desc, diffId, blob, base, layer, source);
  }
  if (discovery.path === "partial") {
    const { layer, verified } = discovery;
    if (discovery.rebuild === "skeleton") {
      ctx.progress({
        kind: "plan",
        layer: desc.digest,
        message: `${desc.digest}: no tar-split; the tar's headers will come from the skeleton frames`,
      });
    }
    const hits = await lookupStore(layer.files, ctx.store);
    const plan = planLayer(layer.files, hits.haveFile, hits.haveChunk, {
      blobSize: desc.size,
      alwaysMergeGap: MERGE_GAP_BYTES,
    });
    const t = plan.totals;
    ctx.progress({
      kind: "plan",
      layer: desc.digest,
      message: `${desc.digest}: ${layer.format}, ${t.files} files (${t.filesFromStore} in store), ${t.remoteChunks} chunks to fetch in ${t.rangeCount} ranges (${t.bytesToFetch} bytes)`,
    });
    try {
      let received = 0;
      await fetchPlan(layer, plan, source, ctx.store, {
        batchBytes: ctx.batchBytes,
        maxRangeBytes: ctx.maxRangeBytes,
        concurrency: ctx.concurrency,
        signal: ctx.signal,
        onBytes: (n) => {
          received += n;
          ctx.progress({
            kind: "fetch",
            layer: desc.digest,
            message: `${desc.digest}: ${received} of ${t.bytesToFetch} bytes of chunks`,
            bytesFetched: received,
          });
        },
      });
      const proven = await proveLayer(ctx, discovery, source, diffId, desc);
      await recordLayer(ctx, desc, diffId, {
        format: layer.format,
        tocDigest: layer.tocDigest,
        verified,
        files: layer.files,
        uncompressedSize: proven.size,
        tarSplit: proven.tarSplit,
      });
      return {
        ...base,
        format: layer.format,
        mode: "partial",
        ranges: source.ranges,
        filesTotal: t.files,
        filesFromStore: t.filesFromStore,
        chunksFromStore: t.chunksFromStore,
        verified,
        ...(proven.trailingPadding ? { trailingPadding: proven.trailingPadding } : {}),
      };
    } catch (err) {
      // A server that refuses even single ranges: the blob itself is still there in full.
      if (!(err instanceof RangeResponseError)) throw err;
      return fullLayer(
        ctx,
        desc,
        diffId,
        blob,
        base,
        layer.format,
        `range requests failed: ${err.message}`,
      );
    }
  }
  return fullLayer(ctx, desc, diffId, blob, base, discovery.format, discovery.reason);
}

/**
 * Rebuild the layer's tar from the store plus its tar-split or skeleton frames and check it
 * against the diff_id (or, under verify "toc", accept the TOC's word). Returns what the layer
 * record keeps.
 */
async function proveLayer(
  ctx: LayerContext,
  discovery: Extract<Discovery, { path: "partial" }>,
  source: RangeSource,
  diffId: Digest,
  desc: Descriptor,
): Promise<{ size: number; tarSplit?: Buffer; trailingPadding?: number }> {
  const { layer } = discovery;
  if (discovery.rebuild === "none") {
    return { size: layer.format !== "zstd:chunked" ? (layer.uncompressedSize ?? 0) : 0 };
  }
  ctx.progress({
    kind: "verify",
    layer: desc.digest,
    message: `${desc.digest}: rebuilding the tar to check the diff_id`,
  });
  if (layer.format !== "zstd:chunked")
    throw new Error("internal: only zstd:chunked layers are rebuilt");
  if (discovery.rebuild === "skeleton") {
    const dataEnd = layer.tocPosition.offset - SKIPPABLE_HEADER_SIZE;
    const r = await rebuildFromSkeleton(
      skeletonOf(layer.files, dataEnd),
      source,
      ctx.store,
      diffId,
      desc.digest,
      ctx.signal,
    );
    if (r.trailingPadding) {
      ctx.progress({
        kind: "verify",
        layer: desc.digest,
        message: `${desc.digest}: the blob's tar lacks its trailing padding; the diff_id holds with ${r.trailingPadding} zero bytes appended`,
      });
    }
    return { size: r.size, tarSplit: r.tarSplit, trailingPadding: r.trailingPadding };
  }
  const tarSplit = (layer.tarSplit ?? layer.legacyTarSplit)!;
  const r = await rebuildAndVerify(
    tarSplit,
    filesByCleanPath(layer.files),
    ctx.store,
    diffId,
    desc.digest,
  );
  return { size: r.size, tarSplit };
}
