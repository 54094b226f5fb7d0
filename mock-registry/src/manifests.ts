/**
 * /v2/<name>/manifests/<reference>: strict Accept negotiation (a stored type missing from Accept
 * is MANIFEST_UNKNOWN, as distribution answers for OCI types), digest header modes, PUT with
 * reference checks, DELETE by digest or tag.
 */
import { digestOf } from "../../src/digest.js";
import { type BodyPiece, endWith, sendBody, sendError } from "./http.js";
import { isValidDigest, isValidTag, looksLikeDigest } from "./names.js";
import type { Handling, RegistryState } from "./state.js";

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

const FRIENDLY: Record<string, string> = {
  "application/vnd.oci.image.manifest.v1+json": "OCI manifest",
  "application/vnd.oci.image.index.v1+json": "OCI index",
  "application/vnd.docker.distribution.manifest.v2+json": "Docker manifest",
  "application/vnd.docker.distribution.manifest.list.v2+json": "Docker manifest list",
};

export function acceptedTypes(header: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (header ?? "").split(",")) {
    const type = part.split(";")[0]!.trim().toLowerCase();
    if (type) out.add(type);
  }
  return out;
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  const t = contentType?.split(";")[0]?.trim().toLowerCase();
  return t ? t : undefined;
}

async function readLimited(h: Handling, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of h.ctx.req) {
    size += (c as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Resolve a tag or digest to a digest, answering the error itself when it cannot. */
async function resolve(h: Handling, repo: string, reference: string): Promise<string | undefined> {
  const { ctx, state } = h;
  if (!(await state.storage.repoExists(repo))) {
    sendError(ctx, 404, "NAME_UNKNOWN", "repository name not known to registry", { name: repo });
    return undefined;
  }
  const digest = looksLikeDigest(reference)
    ? reference
    : await state.storage.getTag(repo, reference);
  if (digest === undefined || (await state.storage.manifestType(repo, digest)) === undefined) {
    sendError(ctx, 404, "MANIFEST_UNKNOWN", "manifest unknown", { Tag: reference });
    return undefined;
  }
  return digest;
}

async function getManifest(h: Handling, repo: string, reference: string): Promise<void> {
  const { ctx, state, modes } = h;
  if (ctx.req.method === "HEAD" && modes.manifestHead405) {
    sendError(ctx, 405, "UNSUPPORTED", "HEAD not supported on manifests (mode manifestHead405)");
    return;
  }
  const digest = await resolve(h, repo, reference);
  if (digest === undefined) return;
  ctx.rec.digest = digest;
  const mediaType = (await state.storage.manifestType(repo, digest))!;
  if (!acceptedTypes(ctx.req.headers.accept).has(mediaType)) {
    const name = FRIENDLY[mediaType] ?? mediaType;
    sendError(
      ctx,
      404,
      "MANIFEST_UNKNOWN",
      `${name} found, but accept header does not support ${name}s`,
      {
        mediaType,
      },
    );
    return;
  }
  const body = (await state.storage.readSmallBlob(digest)) ?? Buffer.alloc(0);
  const etag = `"${digest}"`;
  const headers: Record<string, string> = { "Content-Type": mediaType, Etag: etag };
  if (modes.manifestDigestHeader === "present") headers["Docker-Content-Digest"] = digest;
  if (modes.manifestDigestHeader === "wrong")
    headers["Docker-Content-Digest"] = digestOf(Buffer.from(digest));
  const inm = ctx.req.headers["if-none-match"];
  if (inm?.split(",").some((t) => t.trim() === etag)) {
    ctx.res.writeHead(304, headers);
    endWith(ctx, Buffer.alloc(0));
    return;
  }
  ctx.res.writeHead(200, { ...headers, "Content-Length": String(body.length) });
  if (ctx.req.method === "HEAD") {
    endWith(ctx, Buffer.alloc(0));
    return;
  }
  const pieces: BodyPiece[] = [{ data: body }];
  await sendBody(ctx, pieces, {
    ...modes,
    corruptByteAt: null,
    resetAfterBytes: null,
    stallAfterBytes: null,
  });
}

/** Digests a manifest refers to that must already exist in the repository. */
function references(
  doc: Record<string, unknown>,
  mediaType: string,
): { blobs: string[]; manifests: string[] } {
  const digests = (list: unknown) =>
    Array.isArray(list)
      ? list
          .filter(
            (d) => d && typeof d === "object" && !Array.isArray((d as { urls?: unknown }).urls),
          )
          .map((d) => String((d as { digest?: unknown }).digest))
      : [];
  if (INDEX_TYPES.has(mediaType)) return { blobs: [], manifests: digests(doc["manifests"]) };
  const config = doc["config"] as { digest?: unknown } | undefined;
  const blobs = digests(doc["layers"]);
  if (config && typeof config === "object") blobs.unshift(String(config.digest));
  return { blobs, manifests: [] };
}

export async function storeManifest(
  state: RegistryState,
  repo: string,
  reference: string,
  body: Buffer,
  mediaType: string,
): Promise<string> {
  const digest = digestOf(body);
  const upload = await state.storage.newUpload(repo);
  await upload.write(body);
  const result = await upload.commit(digest);
  if (!result.ok) throw new Error(`manifest digest changed while storing: ${result.actual}`);
  await state.storage.putManifest(repo, digest, mediaType);
  if (!looksLikeDigest(reference)) await state.storage.setTag(repo, reference, digest);
  return digest;
}

async function putManifest(h: Handling, repo: string, reference: string): Promise<void> {
  const { ctx, state } = h;
  const body = await readLimited(h, state.maxManifestBytes);
  if (!body) {
    sendError(
      ctx,
      413,
      "MANIFEST_INVALID",
      `manifest larger than ${state.maxManifestBytes} bytes`,
      undefined,
      {
        Connection: "close",
      },
    );
    return;
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
    if (typeof doc !== "object" || doc === null || Array.isArray(doc))
      throw new Error("not an object");
  } catch (e) {
    sendError(ctx, 400, "MANIFEST_INVALID", `manifest invalid: ${(e as Error).message}`);
    return;
  }
  const declared = mediaTypeOf(ctx.req.headers["content-type"]);
  const inner = typeof doc["mediaType"] === "string" ? doc["mediaType"] : undefined;
  const mediaType = declared ?? inner;
  if (!mediaType || (inner !== undefined && inner !== mediaType)) {
    sendError(
      ctx,
      400,
      "MANIFEST_INVALID",
      "manifest invalid: mediaType missing or not equal to Content-Type",
      {
        contentType: declared,
        mediaType: inner,
      },
    );
    return;
  }
  const refs = references(doc, mediaType);
  for (const d of refs.blobs) {
    if (!isValidDigest(d) || !(await state.storage.isLinked(repo, d))) {
      sendError(ctx, 400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", d);
      return;
    }
  }
  for (const d of refs.manifests) {
    if (!isValidDigest(d) || (await state.storage.manifestType(repo, d)) === undefined) {
      sendError(ctx, 400, "MANIFEST_BLOB_UNKNOWN", "manifest unknown to registry", d);
      return;
    }
  }
  const digest = digestOf(body);
  if (looksLikeDigest(reference) && reference !== digest) {
    sendError(ctx, 400, "DIGEST_INVALID", "provided digest did not match uploaded content", {
      expected: reference,
      actual: digest,
    });
    return;
  }
  await storeManifest(state, repo, reference, body, mediaType);
  ctx.rec.digest = digest;
  ctx.res.writeHead(201, {
    Location: `/v2/${repo}/manifests/${digest}`,
    "Docker-Content-Digest": digest,
    "Content-Length": "0",
  });
  endWith(ctx, Buffer.alloc(0));
}

async function deleteManifest(h: Handling, repo: string, reference: string): Promise<void> {
  const { ctx, state } = h;
  const gone = looksLikeDigest(reference)
    ? await state.storage.deleteManifest(repo, reference)
    : await state.storage.deleteTag(repo, reference);
  if (!gone) {
    sendError(ctx, 404, "MANIFEST_UNKNOWN", "manifest unknown", { Tag: reference });
    return;
  }
  ctx.res.writeHead(202, { "Content-Length": "0" });
  endWith(ctx, Buffer.alloc(0));
}

export async function handleManifest(h: Handling, repo: string, reference: string): Promise<void> {
  const { ctx } = h;
  if (looksLikeDigest(reference) ? !isValidDigest(reference) : !isValidTag(reference)) {
    const code = looksLikeDigest(reference) ? "DIGEST_INVALID" : "TAG_INVALID";
    sendError(
      ctx,
      400,
      code,
      `invalid manifest reference ${JSON.stringify(reference.slice(0, 200))}`,
    );
    return;
  }
  if (looksLikeDigest(reference)) ctx.rec.digest = reference;
  switch (ctx.req.method) {
    case "GET":
    case "HEAD":
      return getManifest(h, repo, reference);
    case "PUT":
      return putManifest(h, repo, reference);
    case "DELETE":
      return deleteManifest(h, repo, reference);
    default:
      sendError(ctx, 405, "UNSUPPORTED", `method ${ctx.req.method} not allowed on manifests`);
  }
}
