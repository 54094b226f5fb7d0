/**
 * What the layer paths share: the context they run in (the resolved config, the store, a blob
 * opener; no registry client), a RangeSource that counts what is asked of it, and the one place
 * a proven layer is recorded in the store.
 */
import type { Digest } from "../digest.js";
import type { RangeSource } from "../formats/layer-index.js";
import type { Descriptor } from "../oci/types.js";
import { encodeFilesIndex, type IndexedFile } from "../store/files-index.js";
import type { Store } from "../store/store.js";
import type { BlobOpener, LayerBlob } from "./blob-access.js";
import type { PullConfig } from "./config.js";
import type { FullPullResult } from "./full.js";
import type { LayerFormat, LayerResult, ProgressEvent, VerifyPolicy } from "./types.js";

export interface LayerContext {
  cfg: PullConfig;
  store: Store;
  blobs: BlobOpener;
  signal?: AbortSignal;
  progress: (e: ProgressEvent) => void;
}

/** One layer's job: its descriptor, its diff_id, and its blob. */
export interface LayerJob {
  desc: Descriptor;
  diffId: Digest;
  blob: LayerBlob;
  /** Ranges asked of the blob so far (metadata and chunk ranges alike). */
  ranges: CountingSource;
}

/** A RangeSource that counts what was asked of it. */
export interface CountingSource extends RangeSource {
  ranges: number;
  bytes: number;
}

export function countingSource(inner: RangeSource): CountingSource {
  const counted: CountingSource = {
    size: inner.size,
    ranges: 0,
    bytes: 0,
    read(ranges, signal) {
      counted.ranges += ranges.length;
      counted.bytes += ranges.reduce((n, r) => n + r.length, 0);
      return inner.read(ranges, signal);
    },
  };
  return counted;
}

/** What a layer record says, from whichever path proved the layer. */
export interface LayerProof {
  format: LayerFormat;
  tocDigest?: Digest;
  verified: VerifyPolicy;
  files: readonly IndexedFile[];
  uncompressedSize: number;
  tarSplit?: Buffer;
}

/** Write the layer record (the layer exists for the store and for gc only from now on). */
export async function recordLayer(ctx: LayerContext, job: LayerJob, p: LayerProof): Promise<void> {
  await ctx.store.putLayer(
    {
      diffId: job.diffId,
      compressedDigest: job.desc.digest,
      mediaType: job.desc.mediaType,
      format: p.format,
      ...(p.tocDigest ? { tocDigest: p.tocDigest } : {}),
      verified: p.verified,
      objects: p.files.map((f) => f.digest),
      uncompressedSize: p.uncompressedSize,
    },
    encodeFilesIndex(p.format, p.files, p.tocDigest),
    p.tarSplit ?? Buffer.alloc(0),
  );
  ctx.progress({
    kind: "layer-done",
    layer: job.desc.digest,
    message: `${job.desc.digest}: ${p.verified === "toc" ? "accepted on its TOC" : "verified by diff-id"}`,
  });
}

/** The LayerResult fields every path fills the same way. */
export type LayerBase = Omit<LayerResult, "format" | "mode" | "verified">;

export function layerBase(job: LayerJob): LayerBase {
  return {
    digest: job.desc.digest,
    diffId: job.diffId,
    mediaType: job.desc.mediaType,
    size: job.desc.size,
    bytesFetched: 0,
    requests: 0,
    ranges: 0,
    filesTotal: 0,
    filesFromStore: 0,
    chunksFromStore: 0,
  };
}

/** Record a layer whose tar was indexed as it streamed (full pull, eStargz members). */
export function recordIndexed(
  ctx: LayerContext,
  job: LayerJob,
  format: LayerFormat,
  r: FullPullResult,
  tocDigest?: Digest,
): Promise<void> {
  return recordLayer(ctx, job, {
    format,
    ...(tocDigest ? { tocDigest } : {}),
    verified: "diff-id",
    files: r.files,
    uncompressedSize: r.uncompressedSize,
    tarSplit: r.tarSplit,
  });
}

/** A partial pull's result: the ranges it asked for and what the store gave. */
export function partialResult(
  job: LayerJob,
  format: LayerFormat,
  verified: VerifyPolicy,
  counts: Pick<LayerResult, "filesTotal" | "filesFromStore" | "chunksFromStore">,
): LayerResult {
  return {
    ...layerBase(job),
    format,
    mode: "partial",
    ranges: job.ranges.ranges,
    ...counts,
    verified,
  };
}
