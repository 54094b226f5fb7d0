/**
 * Shared pieces of the pull tests: small deterministic images, a registry client with its own
 * range-capability memory (so one test's server quirks never leak into another's), and the
 * measurements the tests assert on, taken from the mock registry's own request records and
 * computed independently of the planner.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assembleImage,
  type BuildFormat,
  type BuiltImage,
  type BuiltLayer,
  buildLayer,
  type ImageSink,
  pushImage,
} from "../../mock-registry/src/image/build.js";
import {
  appLayerFiles,
  baseLayerFiles,
  makeTar,
} from "../../mock-registry/src/image/sample-app.js";
import type { MockRegistry, RequestRecord } from "../../mock-registry/src/index.js";
import type { Digest } from "../../src/digest.js";
import type { ByteRange, RangeSource } from "../../src/formats/layer-index.js";
import { openChunkedLayer } from "../../src/formats/open.js";
import { CapabilityStore } from "../../src/registry/capabilities.js";
import { createRegistryClient, type RegistryClient } from "../../src/registry/client.js";
import { openStore } from "../../src/store/index.js";
import type { Store } from "../../src/store/store.js";

/** App layers are ~0.6 MB at this scale: big enough for chunking, small enough to be quick. */
export const APP_SCALE = 0.12;
export const BASE_FILES = 40;

export async function tempDir(prefix = "chunkpull-pulltest-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface SampleImages {
  base: BuiltLayer;
  v1: BuiltImage;
  v2: BuiltImage;
}

/** v1 and v2 of the sample app (shared base layer, changed app layer) in one format. */
export async function sampleImages(format: BuildFormat = "zstd:chunked"): Promise<SampleImages> {
  const base = await buildLayer(makeTar(baseLayerFiles(BASE_FILES)), format);
  const v1 = assembleImage([base, await buildLayer(makeTar(appLayerFiles(1, APP_SCALE)), format)]);
  const v2 = assembleImage([base, await buildLayer(makeTar(appLayerFiles(2, APP_SCALE)), format)]);
  return { base, v1, v2 };
}

/** A client that keeps its own range capabilities and retries quickly. */
export function testClient(): RegistryClient {
  return createRegistryClient({
    capabilities: new CapabilityStore(),
    retries: { retries: 6, baseDelayMs: 5, maxDelayMs: 50 },
    noAuthFiles: true,
  });
}

export async function freshStore(): Promise<{ dir: string; store: Store }> {
  const dir = await tempDir("chunkpull-store-");
  return { dir, store: await openStore(dir) };
}

/** A blob in memory as a RangeSource (what openChunkedLayer reads to compute the ideal). */
export function bufferSource(blob: Buffer): RangeSource {
  return {
    size: blob.length,
    async read(ranges: readonly ByteRange[]): Promise<Buffer[]> {
      return ranges.map((r) => blob.subarray(r.offset, r.offset + r.length));
    },
  };
}

/** Σ lengths of the union of [offset, end) intervals. */
export function unionLength(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -1;
  for (const [s, e] of sorted) {
    const from = Math.max(s, end);
    if (e > from) total += e - from;
    end = Math.max(end, e);
  }
  return total;
}

export interface IdealBytes {
  metadata: number;
  chunks: number;
  total: number;
  missingChunks: number;
}

/**
 * The least a partial pull of `layer` into `store` can transfer: the compressed TOC and
 * tar-split plus the union of the compressed ranges of the chunks whose content the store lacks
 * (a chunk is present when the store has its chunk digest, or the whole file by file digest;
 * a digest needed twice is fetched once). Computed from the blob itself, not from the planner.
 */
export async function idealBytes(layer: BuiltLayer, store: Store): Promise<IdealBytes> {
  const opened = await openChunkedLayer(bufferSource(layer.blob), layer.descriptor.annotations, {
    mediaType: layer.descriptor.mediaType,
  });
  if (opened.format !== "zstd:chunked") throw new Error(`not zstd:chunked: ${opened.format}`);
  const metadata = opened.tocPosition.length + (opened.tarSplitPosition?.length ?? 0);
  const filesSeen = new Set<Digest>();
  const chunksSeen = new Set<Digest>();
  const intervals: Array<[number, number]> = [];
  for (const f of opened.files) {
    if (filesSeen.has(f.digest) || (await store.hasObject(f.digest))) continue;
    filesSeen.add(f.digest);
    for (const c of f.chunks) {
      if (c.zeros) continue;
      if (c.digest) {
        if (chunksSeen.has(c.digest) || (await store.hasChunk(c.digest))) continue;
        chunksSeen.add(c.digest);
      }
      intervals.push([c.offset, c.end]);
    }
  }
  const chunks = unionLength(intervals);
  return { metadata, chunks, total: metadata + chunks, missingChunks: intervals.length };
}

/** The mock's records of GETs (and their redirect targets) for one blob (in one repo). */
export function blobRequests(reg: MockRegistry, digest: Digest, repo?: string): RequestRecord[] {
  return reg
    .stats()
    .requests.filter(
      (r) => r.kind === "blob" && r.digest === digest && (repo === undefined || r.repo === repo),
    );
}

export interface ServedBlob {
  /** Requests that carried bytes or an answer (redirect hops excluded). */
  requests: number;
  redirects: number;
  bytesSent: number;
  statuses: number[];
  ranges: string[];
}

export function served(reg: MockRegistry, digest: Digest, repo?: string): ServedBlob {
  const recs = blobRequests(reg, digest, repo);
  return {
    requests: recs.filter((r) => !r.redirected).length,
    redirects: recs.filter((r) => r.redirected).length,
    bytesSent: recs.reduce((n, r) => n + r.bytesSent, 0),
    statuses: recs.map((r) => r.status),
    ranges: recs.map((r) => r.range ?? ""),
  };
}

/** Push an image into the mock (blobs, config, manifest under `tag`). */
export async function pushTo(
  reg: MockRegistry,
  repo: string,
  tag: string,
  image: BuiltImage,
): Promise<void> {
  await pushImage(reg, repo, tag, image);
}

/** Push through the registry client (monolithic upload, manifest PUT). */
export function clientSink(client: RegistryClient, registry: string): ImageSink {
  return {
    putBlob: (repository, data) => client.pushBlob({ registry, repository }, Buffer.from(data)),
    putManifest: (repository, reference, body, mediaType) =>
      client.pushManifest({ registry, repository }, reference, Buffer.from(body), mediaType),
  };
}
