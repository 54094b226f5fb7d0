/**
 * eStargz under verify "diff-id", the members strategy (formats/estargz/rebuild.ts) over the
 * store-first source, which skips the members of non-last chunks the store holds; the stream is
 * proven by the diff_id and indexed like a full pull (eStargz carries no tar-split to keep).
 * It runs when the headers regenerated from the TOC (the "toc-headers" strategy, tried first for
 * gzip eStargz) miss, or for the zstd flavour. A stream that misses the diff_id is run once more
 * with every chunk taken from the store checked against its digest, which finds a damaged object.
 */

import { digestOf } from "../digest.js";
import { DigestMismatchError, NotInStoreError } from "../errors.js";
import type { ContentSource } from "../formats/content-source.js";
import type { EstargzLayer } from "../formats/estargz/reader.js";
import { planMembers, rebuildFromMembers } from "../formats/estargz/rebuild.js";
import {
  LANDMARK_DIGEST,
  NO_PREFETCH_LANDMARK,
  normalizeTocName,
  PREFETCH_LANDMARK,
  TOC_TAR_NAME,
} from "../formats/estargz/toc.js";
import { LANDMARK_CONTENTS, UnreproducibleHeaderError } from "../formats/estargz/toc-headers.js";
import type { EstargzZstdLayer } from "../formats/estargz/zstd-flavour.js";
import type { ChunkRef, FileRef } from "../formats/layer-index.js";
import type { RebuildStrategy } from "../formats/rebuild.js";
import type { Store } from "../store/store.js";
import { StoreFirstContent } from "./fetch.js";
import { indexTar } from "./full.js";
import { type LayerContext, type LayerJob, partialResult, recordIndexed } from "./layer-context.js";
import { fullLayer } from "./layer-full.js";
import { lookupStore } from "./lookup.js";
import type { LayerFormat, LayerResult } from "./types.js";
import { TarDigestMismatchError } from "./verify.js";

/** Skipping must save at least this share of the blob, else a plain full pull is simpler. */
export const MIN_SKIP_SHARE = 0.05;

type MembersStrategy = Extract<RebuildStrategy, { kind: "members" }>;

/** Why a layer without tar-split is better pulled in full, when the store saves it too little. */
export function littleHeldReason(
  format: LayerFormat,
  savedBytes: number,
  size: number,
): string | undefined {
  if (savedBytes >= MIN_SKIP_SHARE * size) return undefined;
  const share = ((100 * savedBytes) / size).toFixed(1);
  return `${format} layer (no tar-split) and the store holds only ${share}% of its bytes as whole chunks: a full pull is simpler`;
}

/** Why the toc-headers strategy missed, when the members strategy should follow; else undefined. */
export function tocHeadersMiss(err: unknown): string | undefined {
  if (err instanceof TarDigestMismatchError) {
    return "the tar regenerated from the TOC misses the diff_id";
  }
  if (err instanceof UnreproducibleHeaderError) return err.message;
  return undefined;
}

/**
 * The files of a tar regenerated from the TOC that are not in the TOC's file list (landmarks and
 * `stargz.index.json`, both proven with the tar), written to the store so the layer's tar-split
 * can be exported like any other.
 */
export async function storeTocEntryFiles(
  store: Store,
  layer: EstargzLayer | EstargzZstdLayer,
): Promise<FileRef[]> {
  const out: FileRef[] = [];
  const put = async (name: string, data: Buffer) => {
    const { digest } = await store.writeObject(data, digestOf(data));
    out.push({ name, size: data.length, digest, chunks: [] });
  };
  for (const e of layer.toc.entries) {
    if (e.type === "reg" && e.digest === LANDMARK_DIGEST && e.size === 1) {
      const name = normalizeTocName(e.name, "eStargz TOC entry");
      if (name === NO_PREFETCH_LANDMARK || name === PREFETCH_LANDMARK) {
        await put(e.name, LANDMARK_CONTENTS);
      }
    }
  }
  // Only the gzip flavour carries its TOC as a tar entry (the zstd one in a skippable frame).
  if (layer.format === "estargz") await put(TOC_TAR_NAME, layer.tocJson);
  return out;
}

export async function memberPull(
  ctx: LayerContext,
  job: LayerJob,
  strategy: MembersStrategy,
  careful = false,
): Promise<LayerResult> {
  const { desc } = job;
  const { layer } = strategy;
  const hits = await lookupStore(layer.files, ctx.store);
  const content = new StoreFirstContent(layer, undefined, hits, job.ranges, ctx.store, {
    reading: { batchBytes: ctx.cfg.batchBytes, ahead: 1, signal: ctx.signal },
    maxRangeBytes: ctx.cfg.maxRangeBytes,
  });
  const source = careful ? checkedChunks(content, ctx) : content;
  const plan = planMembers(layer, desc.size, (f, c) => content.holds(f, c));
  const why = strategy.why ? `${strategy.why}; ` : "";
  const reason = littleHeldReason(layer.format, plan.skippedBytes, desc.size);
  if (reason) return fullLayer(ctx, job, { format: layer.format, reason: why + reason });
  ctx.progress({
    kind: "plan",
    layer: desc.digest,
    message: `${desc.digest}: ${why}${layer.format}, ${plan.skippedChunks} chunks (${plan.skippedBytes} bytes) from the store, the members with the tar headers fetched and proven by the diff_id`,
  });
  let r: Awaited<ReturnType<typeof indexTar>>;
  try {
    r = await indexTar(rebuildFromMembers(layer, source, plan), job.diffId, ctx.store, desc.digest);
  } catch (err) {
    if (!(err instanceof DigestMismatchError) || careful) throw err;
    ctx.progress({
      kind: "verify",
      layer: desc.digest,
      message: `${desc.digest}: ${err.message}; checking every chunk the store held`,
    });
    return memberPull(ctx, job, strategy, true);
  }
  await recordIndexed(ctx, job, layer.format, r, layer.tocDigest);
  return partialResult(job, layer.format, "diff-id", {
    filesTotal: r.files.length,
    filesFromStore: plan.filesTouched,
    chunksFromStore: plan.skippedChunks,
  });
}

/**
 * The careful run's source: every held chunk is checked against its TOC digest; a chunk that
 * fails came from a damaged object, which reading it verified removes (NotInStoreError: the
 * layer is planned again without it).
 */
function checkedChunks(content: StoreFirstContent, ctx: LayerContext): ContentSource {
  return {
    blob: content.blob,
    reading: content.reading,
    file: (file) => content.file(file),
    holds: (file, chunk) => content.holds(file, chunk),
    heldChunk: async (file: FileRef, chunk: ChunkRef) => {
      const data = await content.heldChunk(file, chunk);
      if (!chunk.digest || digestOf(data) === chunk.digest) return data;
      for await (const _ of await ctx.store.openObject(file.digest, file.size)) {
        // reading it verified removes a damaged object and throws NotInStoreError
      }
      throw new NotInStoreError(`${file.name}: a chunk the store held does not match its digest`);
    },
  };
}
