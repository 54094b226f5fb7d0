/**
 * Builds OCI images in memory from layer tars: each tar is written in the chosen format
 * (zstd:chunked, eStargz, gzip, zstd, plain tar), the config lists the diff_ids and the manifest
 * the layer descriptors with their annotations. Used by the mock registry's seeder, the demo,
 * the benchmarks and the tests; sized for sample images, not for production layers.
 */

import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { createGzip } from "node:zlib";
import { type Digest, digestOf } from "../../../src/digest.js";
import { convertLayer } from "../../../src/formats/convert.js";
import { zstdCompress } from "../../../src/formats/zstd.js";
import { MediaType } from "../../../src/oci/media-types.js";
import type { Descriptor, ImageConfig, ImageManifest } from "../../../src/oci/types.js";

export type BuildFormat = "zstd:chunked" | "estargz" | "gzip" | "zstd" | "tar";

export interface BuiltLayer {
  blob: Buffer;
  descriptor: Descriptor;
  diffId: Digest;
}

export interface BuiltImage {
  layers: BuiltLayer[];
  config: Buffer;
  configDescriptor: Descriptor;
  manifest: Buffer;
  manifestDigest: Digest;
  mediaType: string;
}

export async function buildLayer(
  tar: Buffer,
  format: BuildFormat,
  level?: number,
): Promise<BuiltLayer> {
  if (format === "zstd:chunked" || format === "estargz") {
    const parts: Buffer[] = [];
    const r = await convertLayer(Readable.from([tar]), format, (b) => void parts.push(b), {
      level,
    });
    const blob = Buffer.concat(parts);
    return {
      blob,
      diffId: r.diffId,
      descriptor: {
        mediaType: r.mediaType,
        digest: r.blobDigest,
        size: r.blobSize,
        annotations: r.annotations,
      },
    };
  }
  const blob =
    format === "gzip"
      ? await buffer(Readable.from([tar]).pipe(createGzip({ level: level ?? 6 })))
      : format === "zstd"
        ? await zstdCompress(tar, level ?? 3)
        : tar;
  const mediaType =
    format === "gzip"
      ? MediaType.OciLayerGzip
      : format === "zstd"
        ? MediaType.OciLayerZstd
        : MediaType.OciLayerTar;
  return {
    blob,
    diffId: digestOf(tar),
    descriptor: { mediaType, digest: digestOf(blob), size: blob.length },
  };
}

export interface ImageOptions {
  architecture?: string;
  os?: string;
  created?: string;
  /** The config's `config` object (Entrypoint, Env, ...). */
  config?: Record<string, unknown>;
  history?: Array<Record<string, unknown>>;
  annotations?: Record<string, string>;
}

export function assembleImage(layers: BuiltLayer[], opts: ImageOptions = {}): BuiltImage {
  const config: ImageConfig = {
    ...(opts.created ? { created: opts.created } : {}),
    architecture: opts.architecture ?? "amd64",
    os: opts.os ?? "linux",
    ...(opts.config ? { config: opts.config } : {}),
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    ...(opts.history ? { history: opts.history } : {}),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor: Descriptor = {
    mediaType: MediaType.OciConfig,
    digest: digestOf(configBytes),
    size: configBytes.length,
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: configDescriptor,
    layers: layers.map((l) => l.descriptor),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    layers,
    config: configBytes,
    configDescriptor,
    manifest: manifestBytes,
    manifestDigest: digestOf(manifestBytes),
    mediaType: MediaType.OciManifest,
  };
}

/** Anything that stores blobs and manifests: the mock registry, or a registry client adapter. */
export interface ImageSink {
  putBlob(repo: string, data: Uint8Array): Promise<string>;
  putManifest(
    repo: string,
    reference: string,
    body: Uint8Array,
    mediaType: string,
  ): Promise<string>;
}

export async function pushImage(
  sink: ImageSink,
  repo: string,
  tag: string,
  image: BuiltImage,
): Promise<Digest> {
  for (const l of image.layers) await sink.putBlob(repo, l.blob);
  await sink.putBlob(repo, image.config);
  await sink.putManifest(repo, tag, image.manifest, image.mediaType);
  return image.manifestDigest;
}
