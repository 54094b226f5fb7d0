/**
 * `--output oci:DIR[:TAG]`: an image as an OCI image layout (image-spec `image-layout.md`), which
 * skopeo, umoci, podman, buildah and containerd read. Layers are written uncompressed: the blob
 * of an uncompressed layer IS its diff_id, so the config (kept byte for byte) stays valid and
 * every layer blob is checked against the digest it is stored under. Only the manifest is new
 * (its layer descriptors name tar layers). An existing layout keeps its other images; one with
 * the same TAG is replaced in index.json, as skopeo does.
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, digestOf, hexOf } from "../digest.js";
import { FormatError } from "../errors.js";
import { MediaType } from "../oci/media-types.js";
import type { Descriptor, ImageManifest } from "../oci/types.js";
import type { OutputImage } from "./image.js";

const REF_NAME = "org.opencontainers.image.ref.name";

export interface LayoutOptions {
  /** `org.opencontainers.image.ref.name` in index.json, e.g. the tag. */
  refName?: string;
}

export interface LayoutResult {
  manifestDigest: Digest;
  layerBytes: number;
}

export async function writeOciLayout(
  dir: string,
  image: OutputImage,
  opts: LayoutOptions = {},
): Promise<LayoutResult> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  const configDigest = digestOf(image.configBytes);
  await writeBlob(blobs, configDigest, image.configBytes);
  let layerBytes = 0;
  const layers = [];
  for (const diffId of image.diffIds) {
    const size = await writeLayerBlob(blobs, diffId, image);
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
  const entry: Descriptor = {
    mediaType: MediaType.OciManifest,
    digest: manifestDigest,
    size: manifestBytes.length,
    ...(opts.refName ? { annotations: { [REF_NAME]: opts.refName } } : {}),
  };
  const others = (await existingManifests(dir)).filter(
    (d) =>
      d.digest !== manifestDigest && (!opts.refName || d.annotations?.[REF_NAME] !== opts.refName),
  );
  const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...others, entry] };
  const tmp = join(dir, "index.json.partial");
  await writeFile(tmp, JSON.stringify(index));
  await rename(tmp, join(dir, "index.json"));
  return { manifestDigest, layerBytes };
}

async function writeBlob(blobs: string, digest: Digest, data: Buffer): Promise<void> {
  const path = join(blobs, hexOf(digest));
  await writeFile(`${path}.partial`, data);
  await rename(`${path}.partial`, path);
}

/** Manifests already listed in DIR's index.json (none for a new layout). */
async function existingManifests(dir: string): Promise<Descriptor[]> {
  let text: string;
  try {
    text = await readFile(join(dir, "index.json"), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  try {
    const doc = JSON.parse(text) as { manifests?: unknown };
    if (!Array.isArray(doc.manifests)) throw new Error("no manifests array");
    return doc.manifests as Descriptor[];
  } catch (err) {
    throw new FormatError(
      `${join(dir, "index.json")} is not an OCI image index: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** The layer tar, verified against its diff_id before it takes its name. */
async function writeLayerBlob(blobs: string, diffId: Digest, image: OutputImage): Promise<number> {
  const path = join(blobs, hexOf(diffId));
  const partial = `${path}.partial`;
  const out = createWriteStream(partial);
  let size = 0;
  try {
    for await (const piece of image.layerTar(diffId)) {
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
