/**
 * What the per-layer paths share: the context they run in, a RangeSource that counts what is
 * asked of it, and the one place a proven layer is recorded in the store.
 */
import type { Digest } from "../digest.js";
import type { RangeSource } from "../formats/layer-index.js";
import type { Descriptor } from "../oci/types.js";
import type { RegistryClient } from "../registry/client.js";
import { encodeFilesIndex, type IndexedFile } from "../store/files-index.js";
import type { Store } from "../store/store.js";
import type { LayerFormat, LayerResult, ProgressEvent, VerifyPolicy } from "./types.js";

export interface LayerContext {
  client: RegistryClient;
  store: Store;
  repo: { registry: string; repository: string };
  verify: VerifyPolicy;
  strict: boolean;
  concurrency: number;
  batchBytes: number;
  maxRangeBytes: number;
  signal?: AbortSignal;
  progress: (e: ProgressEvent) => void;
}

/** A RangeSource that counts what was asked of it (metadata and chunk ranges alike). */
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
export async function recordLayer(
  ctx: LayerContext,
  desc: Descriptor,
  diffId: Digest,
  p: LayerProof,
): Promise<void> {
  await ctx.store.putLayer(
    {
      diffId,
      compressedDigest: desc.digest,
      mediaType: desc.mediaType,
      format: p.format,
      ...(p.tocDigest ? { tocDigest: p.tocDigest } : {}),
      verified: p.verified === "diff-id" ? "diff_id" : "toc",
      objects: p.files.map((f) => f.digest),
      uncompressedSize: p.uncompressedSize,
    },
    encodeFilesIndex(p.format, p.files, p.tocDigest),
    p.tarSplit ?? Buffer.alloc(0),
  );
  ctx.progress({
    kind: "layer-done",
    layer: desc.digest,
    message: `${desc.digest}: ${p.verified === "toc" ? "accepted on its TOC" : "verified by diff-id"}`,
  });
}

/** The LayerResult fields every path fills the same way. */
export type LayerBase = Omit<LayerResult, "format" | "mode" | "verified">;
