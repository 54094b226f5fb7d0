/** Shared seeding and client construction for registry client tests against the mock. */
import { createHash, randomBytes } from "node:crypto";
import type { MockRegistry } from "../../mock-registry/src/index.js";
import type { Digest } from "../../src/digest.js";
import { MediaType } from "../../src/oci/media-types.js";
import { CapabilityStore } from "../../src/registry/capabilities.js";
import { RegistryClient, type RegistryClientOptions } from "../../src/registry/client.js";

export const sha256 = (b: Uint8Array): Digest =>
  `sha256:${createHash("sha256").update(b).digest("hex")}`;

export interface SeededImage {
  repo: string;
  layer: Buffer;
  layerDigest: Digest;
  configDigest: Digest;
  manifestDigest: Digest;
  indexDigest: Digest;
  diffId: Digest;
}

/** Minimal interface both the mock and a push-capable client satisfy. */
export interface Seeder {
  putBlob(repo: string, data: Uint8Array): Promise<string>;
  putManifest(
    repo: string,
    ref: string,
    body: Uint8Array | string,
    mediaType: string,
  ): Promise<string>;
}

/** An index (linux/amd64 + linux/arm64 + an attestation) pointing at one manifest with one layer. */
export async function seedImage(
  reg: Seeder,
  repo: string,
  layerSize = 256 * 1024,
  tag = "v1",
): Promise<SeededImage> {
  const layer = randomBytes(layerSize);
  const layerDigest = (await reg.putBlob(repo, layer)) as Digest;
  const diffId = sha256(Buffer.from("uncompressed"));
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [diffId] },
    }),
  );
  const configDigest = (await reg.putBlob(repo, config)) as Digest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: MediaType.OciLayerZstd, digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = (await reg.putManifest(
    repo,
    sha256(manifest),
    manifest,
    MediaType.OciManifest,
  )) as Digest;
  // A BuildKit-style attestation entry (unknown/unknown) that platform selection must skip.
  // (It points at the image manifest: distribution 2.8 refuses indexes whose children it cannot verify.)
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {
          mediaType: MediaType.OciManifest,
          digest: manifestDigest,
          size: manifest.length,
          platform: { os: "unknown", architecture: "unknown" },
        },
        {
          mediaType: MediaType.OciManifest,
          digest: manifestDigest,
          size: manifest.length,
          platform: { os: "linux", architecture: "amd64" },
        },
        {
          mediaType: MediaType.OciManifest,
          digest: manifestDigest,
          size: manifest.length,
          platform: { os: "linux", architecture: "arm64", variant: "v8" },
        },
      ],
    }),
  );
  const indexDigest = (await reg.putManifest(repo, tag, index, MediaType.OciIndex)) as Digest;
  return { repo, layer, layerDigest, configDigest, manifestDigest, indexDigest, diffId };
}

/** A client with its own capability memory, fast retries, and no host auth files. */
export function testClient(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({
    capabilities: new CapabilityStore(options.maxRangesPerRequest ?? 128),
    retries: { retries: 4, baseDelayMs: 5, maxDelayMs: 40 },
    noAuthFiles: true,
    timeoutMs: 10_000,
    ...options,
  });
}

export function mockRepo(reg: MockRegistry | { host: string }, repository: string) {
  return { registry: reg.host, repository };
}

/** Ranges spread over a blob: `count` ranges of `len` bytes, evenly spaced. */
export function spreadRanges(
  size: number,
  count: number,
  len: number,
): Array<{ offset: number; length: number }> {
  const step = Math.floor(size / count);
  return Array.from({ length: count }, (_, i) => ({
    offset: i * step + (i % 7),
    length: Math.min(len, step - 7),
  }));
}
