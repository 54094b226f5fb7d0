/** Media types of the OCI image-spec and their Docker schema2 equivalents. */

export const MediaType = {
  OciIndex: "application/vnd.oci.image.index.v1+json",
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciConfig: "application/vnd.oci.image.config.v1+json",
  OciLayerTar: "application/vnd.oci.image.layer.v1.tar",
  OciLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  OciLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  OciLayerNondistributableTar: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  OciLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  OciLayerNondistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  OciEmpty: "application/vnd.oci.empty.v1+json",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  DockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  DockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  /** Non-standard, read by containers/image. */
  DockerLayerZstd: "application/vnd.docker.image.rootfs.diff.tar.zstd",
} as const;

export type KnownMediaType = (typeof MediaType)[keyof typeof MediaType];

export const INDEX_MEDIA_TYPES: readonly string[] = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
];
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.DockerManifest,
];
export const CONFIG_MEDIA_TYPES: readonly string[] = [MediaType.OciConfig, MediaType.DockerConfig];

/**
 * Everything a manifest GET may return that we can parse. Registries answer 404
 * MANIFEST_UNKNOWN when the stored type is missing here, so the list must stay complete.
 */
export const MANIFEST_ACCEPT: readonly string[] = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
];

export type LayerCompression = "none" | "gzip" | "zstd";

const LAYER_COMPRESSION: Record<string, LayerCompression> = {
  [MediaType.OciLayerTar]: "none",
  [MediaType.OciLayerGzip]: "gzip",
  [MediaType.OciLayerZstd]: "zstd",
  [MediaType.OciLayerNondistributableTar]: "none",
  [MediaType.OciLayerNondistributableGzip]: "gzip",
  [MediaType.OciLayerNondistributableZstd]: "zstd",
  [MediaType.DockerLayerGzip]: "gzip",
  [MediaType.DockerForeignLayerGzip]: "gzip",
  [MediaType.DockerLayerZstd]: "zstd",
};

/** Compression of a layer media type, or undefined when it is not a known layer type. */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  return LAYER_COMPRESSION[stripParameters(mediaType)];
}

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_MEDIA_TYPES.includes(stripParameters(mediaType));
}

export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(stripParameters(mediaType));
}

/** `application/json; charset=utf-8` -> `application/json` (registries SHOULD NOT add parameters; clients ignore them). */
export function stripParameters(mediaType: string): string {
  const semi = mediaType.indexOf(";");
  return (semi === -1 ? mediaType : mediaType.slice(0, semi)).trim().toLowerCase();
}
