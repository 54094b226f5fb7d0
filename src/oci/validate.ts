/**
 * Runtime validation of OCI documents received from the network. Every check names the field
 * path (`manifest.layers[2].digest`) so a user can see which part of which document is wrong.
 */
import { parseDigest } from "../digest.js";
import { FormatError } from "../errors.js";
import {
  isIndexMediaType,
  isManifestMediaType,
  MediaType,
  stripParameters,
} from "./media-types.js";
import type {
  Descriptor,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  ManifestDocument,
  Platform,
} from "./types.js";

type Obj = Record<string, unknown>;

function object(v: unknown, path: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new FormatError(`${path}: expected an object, got ${describe(v)}`);
  }
  return v as Obj;
}

function string(v: unknown, path: string): string {
  if (typeof v !== "string")
    throw new FormatError(`${path}: expected a string, got ${describe(v)}`);
  return v;
}

function optString(v: unknown, path: string): string | undefined {
  return v === undefined ? undefined : string(v, path);
}

function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new FormatError(`${path}: expected an array, got ${describe(v)}`);
  return v;
}

function stringArray(v: unknown, path: string): string[] | undefined {
  if (v === undefined) return undefined;
  return array(v, path).map((x, i) => string(x, `${path}[${i}]`));
}

function stringMap(v: unknown, path: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  const o = object(v, path);
  for (const [k, x] of Object.entries(o)) string(x, `${path}[${JSON.stringify(k)}]`);
  return o as Record<string, string>;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  return typeof v;
}

function schemaVersion(o: Obj, path: string): 2 {
  if (o.schemaVersion !== 2) {
    throw new FormatError(`${path}.schemaVersion: expected 2, got ${describe(o.schemaVersion)}`);
  }
  return 2;
}

export function validatePlatform(v: unknown, path = "platform"): Platform {
  const o = object(v, path);
  const p: Platform = {
    architecture: string(o.architecture, `${path}.architecture`),
    os: string(o.os, `${path}.os`),
  };
  const osVersion = optString(o["os.version"], `${path}["os.version"]`);
  if (osVersion !== undefined) p["os.version"] = osVersion;
  const osFeatures = stringArray(o["os.features"], `${path}["os.features"]`);
  if (osFeatures !== undefined) p["os.features"] = osFeatures;
  const variant = optString(o.variant, `${path}.variant`);
  if (variant !== undefined) p.variant = variant;
  const features = stringArray(o.features, `${path}.features`);
  if (features !== undefined) p.features = features;
  return p;
}

export function validateDescriptor(v: unknown, path = "descriptor"): Descriptor {
  const o = object(v, path);
  const size = o.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new FormatError(`${path}.size: expected a non-negative integer, got ${describe(size)}`);
  }
  const d: Descriptor = {
    mediaType: string(o.mediaType, `${path}.mediaType`),
    digest: parseDigest(o.digest, `${path}.digest`),
    size,
  };
  const urls = stringArray(o.urls, `${path}.urls`);
  if (urls !== undefined) d.urls = urls;
  const annotations = stringMap(o.annotations, `${path}.annotations`);
  if (annotations !== undefined) d.annotations = annotations;
  const data = optString(o.data, `${path}.data`);
  if (data !== undefined) d.data = data;
  const artifactType = optString(o.artifactType, `${path}.artifactType`);
  if (artifactType !== undefined) d.artifactType = artifactType;
  if (o.platform !== undefined) d.platform = validatePlatform(o.platform, `${path}.platform`);
  return d;
}

export function validateIndex(v: unknown, path = "index"): ImageIndex {
  const o = object(v, path);
  const index: ImageIndex = {
    schemaVersion: schemaVersion(o, path),
    manifests: array(o.manifests, `${path}.manifests`).map((m, i) =>
      validateDescriptor(m, `${path}.manifests[${i}]`),
    ),
  };
  const mediaType = optString(o.mediaType, `${path}.mediaType`);
  if (mediaType !== undefined) index.mediaType = mediaType;
  const artifactType = optString(o.artifactType, `${path}.artifactType`);
  if (artifactType !== undefined) index.artifactType = artifactType;
  if (o.subject !== undefined) index.subject = validateDescriptor(o.subject, `${path}.subject`);
  const annotations = stringMap(o.annotations, `${path}.annotations`);
  if (annotations !== undefined) index.annotations = annotations;
  return index;
}

export function validateManifest(v: unknown, path = "manifest"): ImageManifest {
  const o = object(v, path);
  const manifest: ImageManifest = {
    schemaVersion: schemaVersion(o, path),
    config: validateDescriptor(o.config, `${path}.config`),
    layers: array(o.layers, `${path}.layers`).map((l, i) =>
      validateDescriptor(l, `${path}.layers[${i}]`),
    ),
  };
  const mediaType = optString(o.mediaType, `${path}.mediaType`);
  if (mediaType !== undefined) manifest.mediaType = mediaType;
  const artifactType = optString(o.artifactType, `${path}.artifactType`);
  if (artifactType !== undefined) manifest.artifactType = artifactType;
  if (o.subject !== undefined) manifest.subject = validateDescriptor(o.subject, `${path}.subject`);
  const annotations = stringMap(o.annotations, `${path}.annotations`);
  if (annotations !== undefined) manifest.annotations = annotations;
  return manifest;
}

export function validateConfig(v: unknown, path = "config"): ImageConfig {
  const o = object(v, path);
  string(o.architecture, `${path}.architecture`);
  string(o.os, `${path}.os`);
  optString(o.variant, `${path}.variant`);
  const rootfs = object(o.rootfs, `${path}.rootfs`);
  if (rootfs.type !== "layers") {
    throw new FormatError(`${path}.rootfs.type: expected "layers", got ${describe(rootfs.type)}`);
  }
  array(rootfs.diff_ids, `${path}.rootfs.diff_ids`).forEach((d, i) => {
    parseDigest(d, `${path}.rootfs.diff_ids[${i}]`);
  });
  return o as ImageConfig;
}

/** Parse JSON bytes, naming the document on failure. */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw new FormatError(`${what}: invalid JSON (${(e as Error).message})`);
  }
}

/**
 * Classify and validate a manifest-endpoint document. The Content-Type decides; a `mediaType`
 * field in the body must agree with it (distribution-spec "Pulling manifests"). When the
 * Content-Type is missing or generic, the body's `mediaType` or shape decides.
 */
export function parseManifestDocument(
  bytes: Uint8Array,
  contentType: string | undefined,
  what = "manifest",
): ManifestDocument {
  const o = object(parseJson(bytes, what), what);
  const bodyType = optString(o.mediaType, `${what}.mediaType`);
  let mediaType = contentType ? stripParameters(contentType) : "";
  const headerKnown = isIndexMediaType(mediaType) || isManifestMediaType(mediaType);
  if (headerKnown && bodyType !== undefined && stripParameters(bodyType) !== mediaType) {
    throw new FormatError(
      `${what}.mediaType: ${JSON.stringify(bodyType)} does not match Content-Type ${JSON.stringify(mediaType)}`,
    );
  }
  if (!headerKnown) {
    if (bodyType !== undefined) mediaType = stripParameters(bodyType);
    else mediaType = Array.isArray(o.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
  }
  if (isIndexMediaType(mediaType))
    return { kind: "index", mediaType, index: validateIndex(o, what) };
  if (isManifestMediaType(mediaType))
    return { kind: "manifest", mediaType, manifest: validateManifest(o, what) };
  throw new FormatError(`${what}: unsupported manifest media type ${JSON.stringify(mediaType)}`);
}
