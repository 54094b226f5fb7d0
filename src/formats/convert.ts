/** Writes a layer tar in one of the chunked formats: one entry point for the CLI and the seeders. */
import type { Digest } from "../digest.js";
import { convertToEstargz } from "./estargz/writer.js";
import { convertToZstdChunked } from "./zstdchunked/writer.js";

export const LAYER_WRITE_FORMATS = ["zstd:chunked", "estargz"] as const;
export type LayerWriteFormat = (typeof LAYER_WRITE_FORMATS)[number];

export interface LayerWriteResult {
  format: LayerWriteFormat;
  /** Annotations that belong on the layer descriptor. */
  annotations: Record<string, string>;
  mediaType: string;
  blobDigest: Digest;
  blobSize: number;
  /** sha256 of what the blob decompresses to: the config's rootfs.diff_ids entry. */
  diffId: Digest;
  tocDigest: Digest;
}

export async function convertLayer(
  tar: AsyncIterable<Uint8Array>,
  format: LayerWriteFormat,
  out: (chunk: Buffer) => Promise<void> | void,
  opts: { level?: number } = {},
): Promise<LayerWriteResult> {
  if (format === "zstd:chunked") {
    const r = await convertToZstdChunked(tar, out, { level: opts.level });
    return {
      format,
      annotations: r.annotations,
      mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
      blobDigest: r.blobDigest,
      blobSize: r.blobSize,
      diffId: r.diffId,
      tocDigest: r.tocDigest,
    };
  }
  const r = await convertToEstargz(tar, out, { level: opts.level });
  return {
    format,
    annotations: r.annotations,
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    blobDigest: r.blobDigest,
    blobSize: r.blobSize,
    diffId: r.diffId,
    tocDigest: r.tocDigest,
  };
}
