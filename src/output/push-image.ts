/**
 * `chunkpull push SRC REF [--convert zstd:chunked|estargz]`: a local image (OCI layout or docker
 * archive) pushed to a registry, its layers optionally rewritten on the way by the project's own
 * writers (`formats/convert.ts`) so the result partial-pulls. Each layer is staged in a temp
 * file while it is hashed (bounded memory: the writer's frames and one upload chunk), then
 * uploaded in chunks. The input is verified as it passes: a converted layer's tar must hash to
 * its diff_id, an unconverted blob to its descriptor digest. Converted layers get new
 * descriptors (media type, digest, size, the format's annotations; stale chunked annotations
 * are dropped), and when a diff_id changes (eStargz adds its TOC entry) the config gets the new
 * rootfs.diff_ids. The manifest is always an OCI image manifest.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { createHasher, type Digest, digestOf } from "../digest.js";
import { DigestMismatchError, UsageError } from "../errors.js";
import { convertLayer, type LayerWriteFormat } from "../formats/convert.js";
import { zstdDecompressStream } from "../formats/zstd-stream.js";
import { CHUNKED_ANNOTATION_KEYS } from "../formats/zstdchunked/annotations.js";
import { MediaType } from "../oci/media-types.js";
import type { Descriptor, ImageManifest } from "../oci/types.js";
import type { Reference } from "../reference.js";
import type { RegistryClient } from "../registry/client.js";
import type { SourceImage, SourceLayer } from "./image-source.js";

export interface PushOptions {
  convert?: LayerWriteFormat;
  /** zstd / gzip level for converted layers. */
  level?: number;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

export interface PushedLayer {
  digest: Digest;
  size: number;
  mediaType: string;
  diffId: Digest;
  converted: boolean;
}

export interface PushResult {
  reference: string;
  manifestDigest: Digest;
  configDigest: Digest;
  layers: PushedLayer[];
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Docker schema2 layer types and their OCI names (the pushed manifest is OCI). */
const OCI_LAYER_TYPE: Record<string, string> = {
  [MediaType.DockerLayerGzip]: MediaType.OciLayerGzip,
  [MediaType.DockerLayerZstd]: MediaType.OciLayerZstd,
};

/** The first chunk of a stream, and the whole stream again. */
async function peek(source: AsyncIterable<Buffer>): Promise<[Buffer, AsyncIterable<Buffer>]> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return [head, all()];
}

function compressionOf(head: Buffer): "gzip" | "zstd" | "none" {
  if (head.subarray(0, 2).equals(GZIP_MAGIC)) return "gzip";
  if (head.subarray(0, 4).equals(ZSTD_MAGIC)) return "zstd";
  return "none";
}

/** The layer's tar, checked against its diff_id at the end (a mismatch fails the push). */
async function* layerTar(layer: SourceLayer): AsyncGenerator<Buffer> {
  const [head, blob] = await peek(layer.open());
  const kind = compressionOf(head);
  const tar: AsyncIterable<Buffer> =
    kind === "gzip"
      ? Readable.from(blob).pipe(createGunzip())
      : kind === "zstd"
        ? zstdDecompressStream(blob)
        : blob;
  const hasher = createHasher();
  for await (const piece of tar) {
    hasher.update(piece);
    yield piece;
  }
  const actual = hasher.digest();
  if (actual !== layer.diffId)
    throw new DigestMismatchError("layer tar (diff_id)", layer.diffId, actual);
}

async function writeAll(
  path: string,
  source: AsyncIterable<Buffer>,
): Promise<{ digest: Digest; size: number; head: Buffer }> {
  const out = createWriteStream(path, { flags: "wx" });
  const hasher = createHasher();
  let size = 0;
  let head = Buffer.alloc(0);
  try {
    for await (const piece of source) {
      if (size === 0) head = Buffer.from(piece.subarray(0, 4));
      hasher.update(piece);
      size += piece.length;
      if (!out.write(piece)) await once(out, "drain");
    }
  } finally {
    out.end();
    await once(out, "close");
  }
  return { digest: hasher.digest(), size, head };
}

function withoutStaleAnnotations(a: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a ?? {})) {
    if (!CHUNKED_ANNOTATION_KEYS.includes(k) && !k.startsWith("io.containers.zstd-chunked."))
      out[k] = v;
  }
  return out;
}

/** Stage one layer in `path`: converted, or the blob as it is. Returns its new descriptor. */
async function stageLayer(
  layer: SourceLayer,
  path: string,
  opts: PushOptions,
): Promise<{ descriptor: Descriptor; diffId: Digest }> {
  if (opts.convert) {
    const out = createWriteStream(path, { flags: "wx" });
    try {
      const r = await convertLayer(
        layerTar(layer),
        opts.convert,
        async (chunk) => {
          if (!out.write(chunk)) await once(out, "drain");
        },
        { level: opts.level },
      );
      const annotations = { ...withoutStaleAnnotations(layer.annotations), ...r.annotations };
      return {
        descriptor: { mediaType: r.mediaType, digest: r.blobDigest, size: r.blobSize, annotations },
        diffId: r.diffId,
      };
    } finally {
      out.end();
      await once(out, "close");
    }
  }
  const staged = await writeAll(path, layer.open());
  if (layer.digest && staged.digest !== layer.digest)
    throw new DigestMismatchError("layer blob", layer.digest, staged.digest);
  const kind = compressionOf(staged.head);
  if (kind === "none" && staged.digest !== layer.diffId)
    throw new DigestMismatchError("uncompressed layer (diff_id)", layer.diffId, staged.digest);
  const mediaType = layer.digest
    ? (OCI_LAYER_TYPE[layer.mediaType] ?? layer.mediaType)
    : kind === "gzip"
      ? MediaType.OciLayerGzip
      : kind === "zstd"
        ? MediaType.OciLayerZstd
        : MediaType.OciLayerTar;
  return {
    descriptor: {
      mediaType,
      digest: staged.digest,
      size: staged.size,
      ...(layer.annotations ? { annotations: layer.annotations } : {}),
    },
    diffId: layer.diffId,
  };
}

export async function pushLocalImage(
  client: RegistryClient,
  source: SourceImage,
  ref: Reference,
  opts: PushOptions = {},
): Promise<PushResult> {
  if (ref.digest) throw new UsageError(`${ref.toString()}: push to a tag, not a digest`);
  const repo = { registry: ref.registry, repository: ref.repository };
  const say = opts.onProgress ?? (() => {});
  const tmp = await mkdtemp(join(tmpdir(), "chunkpull-push-"));
  try {
    const layers: Descriptor[] = [];
    const pushed: PushedLayer[] = [];
    for (const [i, layer] of source.layers.entries()) {
      say(
        `layer ${i + 1}/${source.layers.length}: ${opts.convert ? `converting to ${opts.convert}` : "staging"}`,
      );
      const path = join(tmp, `layer-${i}`);
      const { descriptor, diffId } = await stageLayer(layer, path, opts);
      say(
        `layer ${i + 1}/${source.layers.length}: uploading ${descriptor.digest} (${descriptor.size} bytes)`,
      );
      await client.pushBlobFile(repo, path, descriptor.digest, opts.signal);
      await rm(path);
      layers.push(descriptor);
      pushed.push({
        digest: descriptor.digest,
        size: descriptor.size,
        mediaType: descriptor.mediaType,
        diffId,
        converted: opts.convert !== undefined,
      });
    }
    const diffIds = pushed.map((l) => l.diffId);
    const same = diffIds.every((d, i) => d === source.config.rootfs.diff_ids[i]);
    const configBytes = same
      ? source.configBytes
      : Buffer.from(JSON.stringify(withDiffIds(source.configBytes, diffIds)));
    const configDigest = await client.pushBlob(repo, configBytes, opts.signal);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.length },
      layers,
      ...(source.annotations ? { annotations: source.annotations } : {}),
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const tag = ref.tag ?? "latest";
    say(`pushing the manifest as ${ref.registry}/${ref.repository}:${tag}`);
    const manifestDigest = await client.pushManifest(
      repo,
      tag,
      body,
      MediaType.OciManifest,
      opts.signal,
    );
    if (manifestDigest !== digestOf(body))
      throw new DigestMismatchError("pushed manifest", digestOf(body), manifestDigest);
    return { reference: ref.toString(), manifestDigest, configDigest, layers: pushed };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The config with new rootfs.diff_ids, every other field as it was. */
function withDiffIds(configBytes: Buffer, diffIds: Digest[]): unknown {
  const config = JSON.parse(configBytes.toString("utf8")) as { rootfs: { diff_ids: Digest[] } };
  config.rootfs = { ...config.rootfs, diff_ids: diffIds };
  return config;
}
