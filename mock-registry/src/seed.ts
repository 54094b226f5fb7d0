/**
 * seedSampleApp: push several versions of one sample app into a registry, each version as a
 * gzip, a zstd:chunked and an eStargz image (tags `v<N>-gzip`, `v<N>-zstd-chunked`,
 * `v<N>-estargz`) plus an OCI index `v<N>` holding the gzip and zstd:chunked instances (the
 * zstd one annotated as podman does). Content is deterministic (seed-content.ts).
 * Layers are built in memory: they are a few MB by default; raise sizes with care.
 */
import { type Digest, digestOf } from "../../src/digest.js";
import { assembleImage, buildLayer } from "./image/build.js";
import { appLayerTar, baseLayerTar, type ContentOptions } from "./seed-content.js";
import type { MockRegistry } from "./types.js";

export type SeedFormat = "gzip" | "zstd:chunked" | "estargz";

export interface SeedOptions extends Partial<ContentOptions> {
  /** Repository name. Default "sample/app". */
  repo?: string;
  /** Number of versions (1..N). Default 3. */
  versions?: number;
  /** Default all three. */
  formats?: SeedFormat[];
  /** Authorization header value for pushes to a URL (e.g. "Basic ..."). */
  authorization?: string;
}

export interface SeededLayer {
  digest: string;
  size: number;
  diffId: string;
  mediaType: string;
  annotations?: Record<string, string>;
}

export interface SeededImage {
  /** `repo:tag` */
  reference: string;
  repo: string;
  tag: string;
  version: number;
  /** "index" for the multi-instance index tag. */
  format: SeedFormat | "index";
  manifestDigest: string;
  mediaType: string;
  configDigest?: string;
  layers: SeededLayer[];
}

/** What seeding needs from a registry; a MockRegistry already is one. */
export type SeedTarget = Pick<MockRegistry, "putBlob" | "putManifest">;

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const ZSTD_INSTANCE = "io.github.containers.compression.zstd";

interface Layer extends SeededLayer {
  data: Buffer;
}

async function buildSeedLayer(tar: Buffer[], format: SeedFormat): Promise<Layer> {
  const built = await buildLayer(Buffer.concat(tar), format);
  const d = built.descriptor;
  return {
    data: built.blob,
    digest: d.digest,
    size: d.size,
    diffId: built.diffId,
    mediaType: d.mediaType,
    ...(d.annotations ? { annotations: d.annotations } : {}),
  };
}

/** A SeedTarget pushing over HTTP (POST session + PUT, accepted by every registry). */
export function httpTarget(baseUrl: string, authorization?: string): SeedTarget {
  const auth: Record<string, string> = authorization ? { Authorization: authorization } : {};
  const base = baseUrl.replace(/\/$/, "");
  return {
    async putBlob(repo, data) {
      const digest = digestOf(data);
      const head = await fetch(`${base}/v2/${repo}/blobs/${digest}`, {
        method: "HEAD",
        headers: auth,
      });
      if (head.status === 200) return digest;
      const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, {
        method: "POST",
        headers: auth,
      });
      await start.arrayBuffer();
      if (start.status !== 202)
        throw new Error(`seed: POST upload to ${repo} answered ${start.status}`);
      const loc = new URL(start.headers.get("location") ?? "", `${base}/`);
      loc.searchParams.set("digest", digest);
      const put = await fetch(loc, {
        method: "PUT",
        headers: { ...auth, "Content-Type": "application/octet-stream" },
        body: data,
      });
      const text = await put.text();
      if (put.status !== 201)
        throw new Error(`seed: PUT blob ${digest} answered ${put.status}: ${text}`);
      return digest;
    },
    async putManifest(repo, reference, body, mediaType) {
      const bytes = typeof body === "string" ? Buffer.from(body) : body;
      const put = await fetch(`${base}/v2/${repo}/manifests/${reference}`, {
        method: "PUT",
        headers: { ...auth, "Content-Type": mediaType },
        body: bytes,
      });
      const text = await put.text();
      if (put.status !== 201)
        throw new Error(`seed: PUT manifest ${repo}:${reference} answered ${put.status}: ${text}`);
      return digestOf(bytes);
    },
  };
}

function formatTag(format: SeedFormat): string {
  return format === "zstd:chunked" ? "zstd-chunked" : format;
}

export async function seedSampleApp(
  registry: MockRegistry | SeedTarget | string,
  options: SeedOptions = {},
): Promise<SeededImage[]> {
  const target =
    typeof registry === "string" ? httpTarget(registry, options.authorization) : registry;
  const repo = options.repo ?? "sample/app";
  const versions = options.versions ?? 3;
  const formats = options.formats ?? ["gzip", "zstd:chunked", "estargz"];
  const content: ContentOptions = {
    appFiles: options.appFiles ?? 40,
    fileSize: options.fileSize ?? 48 * 1024,
    seed: options.seed ?? 1,
  };
  const baseTar = baseLayerTar(content);
  const baseByFormat = new Map<SeedFormat, Layer>();
  const images: SeededImage[] = [];

  for (let version = 1; version <= versions; version++) {
    const appTar = appLayerTar(version, content);
    const instances: Array<{ format: SeedFormat; digest: string; size: number }> = [];
    for (const format of formats) {
      let base = baseByFormat.get(format);
      if (!base) {
        base = await buildSeedLayer(baseTar, format);
        baseByFormat.set(format, base);
      }
      const app = await buildSeedLayer(appTar, format);
      const layers = [base, app];
      for (const l of layers) await target.putBlob(repo, l.data);
      const image = assembleImage(
        layers.map((l) => ({
          blob: l.data,
          diffId: l.diffId as Digest,
          descriptor: {
            mediaType: l.mediaType,
            digest: l.digest as Digest,
            size: l.size,
            ...(l.annotations ? { annotations: l.annotations } : {}),
          },
        })),
        {
          created: "2024-01-01T00:00:00Z",
          config: { Entrypoint: ["/app/bin/app"], Env: [`APP_VERSION=${version}`] },
          history: [
            { created_by: "sample base" },
            { created_by: `sample app v${version} (${format})` },
          ],
        },
      );
      const configDigest = await target.putBlob(repo, image.config);
      const manifest = image.manifest;
      const tag = `v${version}-${formatTag(format)}`;
      const manifestDigest = await target.putManifest(repo, tag, manifest, OCI_MANIFEST);
      instances.push({ format, digest: manifestDigest, size: manifest.length });
      images.push({
        reference: `${repo}:${tag}`,
        repo,
        tag,
        version,
        format,
        manifestDigest,
        mediaType: OCI_MANIFEST,
        configDigest,
        layers: layers.map(({ data: _data, ...l }) => l),
      });
    }
    const indexed = instances.filter((i) => i.format !== "estargz");
    if (indexed.length > 0) {
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: indexed.map((i) => ({
          mediaType: OCI_MANIFEST,
          digest: i.digest,
          size: i.size,
          platform: { architecture: "amd64", os: "linux" },
          ...(i.format === "zstd:chunked" ? { annotations: { [ZSTD_INSTANCE]: "true" } } : {}),
        })),
      });
      const tag = `v${version}`;
      const manifestDigest = await target.putManifest(repo, tag, index, OCI_INDEX);
      images.push({
        reference: `${repo}:${tag}`,
        repo,
        tag,
        version,
        format: "index",
        manifestDigest,
        mediaType: OCI_INDEX,
        layers: [],
      });
    }
  }
  return images;
}
