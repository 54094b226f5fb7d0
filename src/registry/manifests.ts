/**
 * Manifest GET with the full Accept list, digest over the exact bytes received (checked against
 * a by-digest reference, the descriptor size and any Docker-Content-Digest header), and
 * `resolveImage`: index -> platform -> manifest -> config.
 */
import { algorithmOf, type Digest, digestOf, isDigest } from "../digest.js";
import { DigestMismatchError, FormatError, LimitExceededError } from "../errors.js";
import { MANIFEST_ACCEPT, stripParameters } from "../oci/media-types.js";
import { hostPlatform, type SelectOptions, selectPlatform } from "../oci/platform.js";
import type {
  ImageConfig,
  ImageIndex,
  ImageManifest,
  ManifestDocument,
  Platform,
} from "../oci/types.js";
import { parseJson, parseManifestDocument, validateConfig } from "../oci/validate.js";
import { repositoryScope } from "./auth/challenge.js";
import {
  type BlobRef,
  type RegistryContext,
  type RepositoryRef,
  requestBlob,
  withOrigins,
} from "./context.js";
import { header } from "./http.js";
import { endpointUrl } from "./mirrors.js";
import { responseError } from "./status-errors.js";

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;

export interface FetchedManifest {
  /** sha256 (or the requested algorithm) over the exact bytes. */
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
  document: ManifestDocument;
}

export interface GetManifestOptions {
  /** Expected size from a descriptor. */
  size?: number;
  signal?: AbortSignal;
}

function describeRef(repo: RepositoryRef, ref: string): string {
  return `manifest ${repo.registry}/${repo.repository}${isDigest(ref) ? "@" : ":"}${ref}`;
}

/** GET /v2/<name>/manifests/<tag|digest>; verifies what can be verified. */
export async function getManifest(
  ctx: RegistryContext,
  repo: RepositoryRef,
  ref: string,
  options: GetManifestOptions = {},
): Promise<FetchedManifest> {
  const subject = describeRef(repo, ref);
  const lookup = isDigest(ref) ? "digest" : "tag";
  const digestRef = isDigest(ref) ? ref : undefined;
  return withOrigins(ctx, repo, lookup, digestRef, async (ep) => {
    const url = endpointUrl(ep, `manifests/${ref}`);
    const res = await ctx.send({
      method: "GET",
      url,
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      scope: repositoryScope(ep.repository),
      signal: options.signal,
    });
    if (res.status !== 200) throw await responseError(res, subject);
    const limit = options.size ?? MAX_MANIFEST_BYTES;
    if (limit > MAX_MANIFEST_BYTES)
      throw new LimitExceededError(
        `${subject}: descriptor size ${limit} exceeds ${MAX_MANIFEST_BYTES} bytes`,
      );
    let bytes: Buffer;
    try {
      bytes = await res.bytes(limit);
    } catch (e) {
      if (e instanceof LimitExceededError && options.size !== undefined) {
        throw new FormatError(`${subject}: larger than the descriptor size ${options.size}`);
      }
      throw e;
    }
    if (options.size !== undefined && bytes.length !== options.size) {
      throw new FormatError(`${subject}: ${bytes.length} bytes, descriptor says ${options.size}`);
    }
    const expected = isDigest(ref) ? ref : undefined;
    const digest = digestOf(bytes, expected ? algorithmOf(expected) : "sha256");
    if (expected && digest !== expected) throw new DigestMismatchError(subject, expected, digest);
    const claimed = header(res, "docker-content-digest");
    if (claimed && isDigest(claimed)) {
      const actual =
        algorithmOf(claimed) === algorithmOf(digest)
          ? digest
          : digestOf(bytes, algorithmOf(claimed));
      if (actual !== claimed)
        throw new DigestMismatchError(`${subject} (Docker-Content-Digest header)`, claimed, actual);
    }
    const document = parseManifestDocument(bytes, header(res, "content-type"), subject);
    return { digest, mediaType: document.mediaType, bytes, document };
  });
}

export interface ManifestHead {
  digest: Digest;
  mediaType: string;
  size: number;
}

/**
 * Resolve a tag to its digest without downloading the manifest (Docker Hub does not count HEAD
 * as a pull). Falls back to GET when HEAD is refused (405) or the answer lacks
 * Docker-Content-Digest.
 */
export async function headManifest(
  ctx: RegistryContext,
  repo: RepositoryRef,
  ref: string,
  signal?: AbortSignal,
): Promise<ManifestHead> {
  const subject = describeRef(repo, ref);
  const lookup = isDigest(ref) ? "digest" : "tag";
  const viaHead = await withOrigins(ctx, repo, lookup, undefined, async (ep) => {
    const res = await ctx.send({
      method: "HEAD",
      url: endpointUrl(ep, `manifests/${ref}`),
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      scope: repositoryScope(ep.repository),
      signal,
    });
    await res.dump();
    if (res.status === 405) return undefined;
    if (res.status !== 200) throw await responseError(res, subject);
    const digest = header(res, "docker-content-digest");
    const size = Number(header(res, "content-length"));
    const mediaType = header(res, "content-type");
    if (!digest || !isDigest(digest) || !Number.isSafeInteger(size) || !mediaType) return undefined;
    if (isDigest(ref) && digest !== ref)
      throw new DigestMismatchError(`${subject} (HEAD)`, ref, digest);
    return { digest, size, mediaType: stripParameters(mediaType) };
  });
  if (viaHead) return viaHead;
  const got = await getManifest(ctx, repo, ref, { signal });
  return { digest: got.digest, mediaType: got.mediaType, size: got.bytes.length };
}

/** GET a small blob (config) into memory, verifying size and digest. */
export async function getSmallBlob(
  ctx: RegistryContext,
  blob: BlobRef,
  limit: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const subject = `blob ${blob.registry}/${blob.repository}@${blob.digest}`;
  if (blob.size !== undefined && blob.size > limit)
    throw new LimitExceededError(`${subject}: size ${blob.size} exceeds ${limit} bytes`);
  return withOrigins(ctx, blob, "digest", blob.digest, async (ep) => {
    const res = await requestBlob(ctx, ep, blob, {}, signal);
    if (res.status !== 200) throw await responseError(res, subject);
    const bytes = await res.bytes(blob.size ?? limit);
    if (blob.size !== undefined && bytes.length !== blob.size)
      throw new FormatError(`${subject}: ${bytes.length} bytes, descriptor says ${blob.size}`);
    const actual = digestOf(bytes, algorithmOf(blob.digest));
    if (actual !== blob.digest) throw new DigestMismatchError(subject, blob.digest, actual);
    return bytes;
  });
}

export interface ResolvedImage {
  /** Digest of the index when the reference named one. */
  indexDigest?: Digest;
  index?: ImageIndex;
  manifestDigest: Digest;
  manifestMediaType: string;
  manifestBytes: Buffer;
  manifest: ImageManifest;
  configDigest: Digest;
  configBytes: Buffer;
  config: ImageConfig;
}

export interface ResolveOptions extends SelectOptions {
  /** Wanted platform; default: this host's. */
  platform?: Platform;
  signal?: AbortSignal;
}

/** Reference -> (index -> platform ->) manifest -> config, all verified. */
export async function resolveImage(
  ctx: RegistryContext,
  repo: RepositoryRef,
  ref: string,
  options: ResolveOptions = {},
): Promise<ResolvedImage> {
  let fetched = await getManifest(ctx, repo, ref, { signal: options.signal });
  let indexDigest: Digest | undefined;
  let index: ImageIndex | undefined;
  for (let depth = 0; fetched.document.kind === "index"; depth++) {
    if (depth >= MAX_INDEX_DEPTH)
      throw new FormatError(
        `${describeRef(repo, ref)}: indexes nested deeper than ${MAX_INDEX_DEPTH}`,
      );
    index ??= fetched.document.index;
    indexDigest ??= fetched.digest;
    const chosen = selectPlatform(
      fetched.document.index,
      options.platform ?? hostPlatform(),
      options,
      `${repo.registry}/${repo.repository}:${ref}`,
    );
    fetched = await getManifest(ctx, repo, chosen.digest, {
      size: chosen.size,
      signal: options.signal,
    });
  }
  const manifest = fetched.document.manifest;
  const configBytes = await getSmallBlob(
    ctx,
    { ...repo, digest: manifest.config.digest, size: manifest.config.size },
    MAX_CONFIG_BYTES,
    options.signal,
  );
  const config = validateConfig(
    parseJson(configBytes, `config ${manifest.config.digest}`),
    `config ${manifest.config.digest}`,
  );
  const out: ResolvedImage = {
    manifestDigest: fetched.digest,
    manifestMediaType: fetched.mediaType,
    manifestBytes: fetched.bytes,
    manifest,
    configDigest: manifest.config.digest,
    configBytes,
    config,
  };
  if (indexDigest) out.indexDigest = indexDigest;
  if (index) out.index = index;
  return out;
}
