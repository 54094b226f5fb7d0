/**
 * chunkpull's public API. The data flow: reference -> registry -> discover -> plan -> fetch ->
 * store -> rebuild+verify -> result (docs/architecture.md).
 */
export { type Digest, digestOf, parseDigest } from "./digest.js";
export * from "./errors.js";
export {
  LAYER_WRITE_FORMATS,
  type LayerWriteFormat,
  type LayerWriteResult,
} from "./formats/convert.js";
export { detectFromAnnotations, detectFromTail } from "./formats/detect.js";
export { openFileSource } from "./formats/file-source.js";
export type {
  ByteRange,
  ChunkedLayer,
  ChunkRef,
  FileRef,
  RangeSource,
} from "./formats/layer-index.js";
export {
  type AnyChunkedLayer,
  describeLayer,
  openChunkedLayer,
  rebuildLayerTar,
} from "./formats/open.js";
export {
  type ImageInspection,
  type InspectOptions,
  inspectImage,
  type LayerDryRun,
  type LayerInspection,
  platformMatches,
} from "./inspect/inspect-image.js";
export type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from "./oci/types.js";
export { type DockerArchiveResult, writeDockerArchive } from "./output/docker-archive.js";
export { type OutputImage, storedImage } from "./output/image.js";
export { openImageSource, type SourceImage, type SourceLayer } from "./output/image-source.js";
export { storedLayerTar } from "./output/layer-tar.js";
export type { LayoutOptions } from "./output/oci-layout.js";
export {
  type PushedLayer,
  type PushOptions,
  type PushResult,
  pushLocalImage,
} from "./output/push-image.js";
export {
  type RootfsLayer,
  type RootfsResult,
  writeImageRootfs,
  writeRootfs,
} from "./output/rootfs.js";
export { UnsafePathError } from "./output/rootfs-path.js";
export { type Plan, planLayer } from "./pull/plan.js";
export type {
  LayerResult,
  ProgressEvent,
  PullOptions,
  PullResult,
  VerifyPolicy,
} from "./pull/types.js";
export { parseReference, type Reference } from "./reference.js";
export {
  type ClientStats,
  createRegistryClient,
  RegistryClient,
  type RegistryClientOptions,
} from "./registry/client.js";
export {
  loadRegistryConfig,
  parseHostsToml,
  parseRegistriesConf,
  type RegistriesConf,
  type RegistryConfigOptions,
} from "./registry/config/index.js";
export {
  NetworkError,
  NotFoundError,
  PlatformNotFoundError,
  ProtocolError,
  RangeNotSatisfiableError,
  RangeResponseError,
  RangesFailedError,
  RateLimitedError,
  RegistryError,
  TimeoutError,
  type TimeoutKind,
  TlsError,
  UnauthorizedError,
} from "./registry/errors.js";
export {
  compose,
  type HttpRequest,
  type HttpResponse,
  type Layer,
  type Send,
} from "./registry/http.js";
export { BlockedRegistryError } from "./registry/mirrors.js";
export type { RetryOptions } from "./registry/retry.js";
export { DEFAULT_TIMEOUTS, type TimeoutOptions } from "./registry/timeouts.js";
export { type WarmedBlob, type WarmOptions, type WarmResult, warm } from "./registry/warm.js";
export { openStore, Store } from "./store/index.js";

// The pull engine, the writers and the OCI layout output are loaded on first call, so importing
// the library (and every CLI command that does not pull) does not pay for their modules.
type Convert = typeof import("./formats/convert.js").convertLayer;
type Pull = typeof import("./pull/pull.js").pull;
type WriteOciLayout = typeof import("./output/oci-layout.js").writeOciLayout;

/** Writes a layer tar as zstd:chunked or eStargz (see formats/convert.ts). */
export async function convertLayer(...args: Parameters<Convert>): ReturnType<Convert> {
  return (await import("./formats/convert.js")).convertLayer(...args);
}

/** Pulls an image into the store (see pull/pull.ts). */
export async function pull(...args: Parameters<Pull>): ReturnType<Pull> {
  return (await import("./pull/pull.js")).pull(...args);
}

/** Writes pulled images as an OCI image layout (see output/oci-layout.ts). */
export async function writeOciLayout(
  ...args: Parameters<WriteOciLayout>
): ReturnType<WriteOciLayout> {
  return (await import("./output/oci-layout.js")).writeOciLayout(...args);
}
