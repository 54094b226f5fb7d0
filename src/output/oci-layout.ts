/**
 * Writes a pulled image from the store as an OCI image layout (image-spec `image-layout.md`),
 * which skopeo, podman, buildah and containerd import. Layers are written uncompressed: the
 * blob of an uncompressed layer IS its diff_id, so the config (kept byte for byte) stays valid
 * and every layer blob is checked against the digest it is stored under. Only the manifest is
 * new (its layer descriptors name tar layers).
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, digestOf, hexOf } from "../digest.js";
import { MediaType } from "../oci/media-types.js";
import type { ImageManifest } from "../oci/types.js";
import type { Store } from "../store/store.js";
import { storedLayerTar } from "./layer-tar.js";

export interface LayoutImage {
  /** The config exactly as the registry served it (its digest must not change). */
  configBytes: Buffer;
  diffIds: Digest[];
  /** `org.opencontainers.image.ref.name` in index.json, e.g. the tag. */
  refName?: string;
}

export interface LayoutResult {
  manifestDigest: Digest;
  layerBytes: number;
}

export async function writeOciLayout(
  dir: string,
  store: Store,
  image: LayoutImage,
): Promise<LayoutResult> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  const configDigest = digestOf(image.configBytes);
  await writeBlob(blobs, configDigest, image.configBytes);
  let layerBytes = 0;
  const layers = [];
  for (const diffId of image.diffIds) {
    const size = await writeLayerBlob(blobs, diffId, store);
    layerBytes += size;
    layers.push({ mediaType: MediaType.OciLayerTar, digest: diffId, size });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: {
      mediaType: MediaType.OciConfig,
      digest: configDigest,
      size: image.configBytes.length,
    },
    layers,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = digestOf(manifestBytes);
  await writeBlob(blobs, manifestDigest, manifestBytes);
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      {
        mediaType: MediaType.OciManifest,
        digest: manifestDigest,
        size: manifestBytes.length,
        ...(image.refName
          ? { annotations: { "org.opencontainers.image.ref.name": image.refName } }
          : {}),
      },
    ],
  };
  await writeFile(join(dir, "index.json"), JSON.stringify(index));
  return { manifestDigest, layerBytes };
}

async function writeBlob(blobs: string, digest: Digest, data: Buffer): Promise<void> {
  const path = join(blobs, hexOf(digest));
  await writeFile(`${path}.partial`, data);
  await rename(`${path}.partial`, path);
}

/** The layer tar from the store, verified against its diff_id before it takes its name. */
async function writeLayerBlob(blobs: string, diffId: Digest, store: Store): Promise<number> {
  const path = join(blobs, hexOf(diffId));
  const partial = `${path}.partial`;
  const out = createWriteStream(partial);
  let size = 0;
  try {
    for await (const piece of storedLayerTar(store, diffId)) {
      size += piece.length;
      if (!out.write(piece)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
    await rename(partial, path);
    return size;
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}
