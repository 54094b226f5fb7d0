/** OCI image-spec documents as TypeScript types (only the fields a puller reads, plus pass-through extras). */
import type { Digest } from "../digest.js";

export interface Platform {
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Embedded content, base64. */
  data?: string;
  artifactType?: string;
  platform?: Platform;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface RootFS {
  type: "layers";
  diff_ids: Digest[];
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  created?: string;
  author?: string;
  config?: Record<string, unknown>;
  rootfs: RootFS;
  history?: Array<Record<string, unknown>>;
  [extra: string]: unknown;
}

/** A manifest document tagged with what it is. */
export type ManifestDocument =
  | { kind: "index"; mediaType: string; index: ImageIndex }
  | { kind: "manifest"; mediaType: string; manifest: ImageManifest };
