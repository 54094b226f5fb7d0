/**
 * Minimal push, enough to seed a real registry in tests and to publish converted images:
 * monolithic blob upload (POST, then PUT ?digest=), chunked upload of a file (POST, PATCH per
 * chunk, PUT ?digest=; bounded memory whatever the blob's size) and manifest PUT.
 */
import { open } from "node:fs/promises";
import { type Digest, digestOf } from "../digest.js";
import { DigestMismatchError } from "../errors.js";
import { repositoryScope } from "./auth/challenge.js";
import type { RegistryContext, RepositoryRef } from "./context.js";
import { RegistryError } from "./errors.js";
import { header } from "./http.js";
import { responseError } from "./status-errors.js";

function pushOrigin(ctx: RegistryContext, registry: string): string {
  // Mirrors are for pulling; pushes go to the registry itself (last in the list).
  const origins = ctx.origins(registry);
  return origins[origins.length - 1]!;
}

/** Upload a blob unless the registry already has it. Returns its digest. */
export async function pushBlob(
  ctx: RegistryContext,
  repo: RepositoryRef,
  data: Buffer,
  signal?: AbortSignal,
): Promise<Digest> {
  const digest = digestOf(data);
  const up = await startUpload(ctx, repo, digest, signal);
  if (up === "exists") return digest;
  const { origin, scope, subject, location } = up;
  const url = new URL(location, origin);
  url.searchParams.set("digest", digest);
  const put = await ctx.send({
    method: "PUT",
    url,
    headers: { "content-type": "application/octet-stream", "content-length": String(data.length) },
    body: data,
    scope,
    signal,
  });
  if (put.status !== 201) throw await responseError(put, subject);
  await put.dump();
  const stored = header(put, "docker-content-digest");
  if (stored && stored !== digest) throw new DigestMismatchError(subject, digest, stored);
  return digest;
}

/** Bytes per PATCH of a chunked upload: the memory a file upload holds. */
export const UPLOAD_CHUNK_BYTES = 8 << 20;

/**
 * Upload the file at `path` as the blob `digest` unless the registry has it: chunked upload,
 * one replayable PATCH body at a time. The caller vouches for the digest (it wrote the file
 * while hashing it); the registry checks it again on the final PUT.
 */
export async function pushBlobFile(
  ctx: RegistryContext,
  repo: RepositoryRef,
  path: string,
  digest: Digest,
  signal?: AbortSignal,
): Promise<Digest> {
  const up = await startUpload(ctx, repo, digest, signal);
  if (up === "exists") return digest;
  const { origin, scope, subject } = up;
  let location: string | undefined = up.location;
  const fh = await open(path, "r");
  try {
    let offset = 0;
    for (;;) {
      if (!location)
        throw new RegistryError(`${subject}: upload continued without a Location`, { status: 202 });
      const buf = Buffer.alloc(UPLOAD_CHUNK_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      const patch = await ctx.send({
        method: "PATCH",
        url: new URL(location, origin),
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(bytesRead),
          "content-range": `${offset}-${offset + bytesRead - 1}`,
        },
        body: chunk,
        scope,
        signal,
        redirect: "manual",
      });
      if (patch.status !== 202) throw await responseError(patch, subject);
      await patch.dump();
      location = header(patch, "location");
      offset += bytesRead;
    }
  } finally {
    await fh.close();
  }
  if (!location)
    throw new RegistryError(`${subject}: upload continued without a Location`, { status: 202 });
  const url = new URL(location, origin);
  url.searchParams.set("digest", digest);
  const put = await ctx.send({
    method: "PUT",
    url,
    headers: { "content-length": "0" },
    scope,
    signal,
  });
  if (put.status !== 201) throw await responseError(put, subject);
  await put.dump();
  const stored = header(put, "docker-content-digest");
  if (stored && stored !== digest) throw new DigestMismatchError(subject, digest, stored);
  return digest;
}

/** PUT a manifest under a tag or digest. Returns the manifest digest. */
export async function pushManifest(
  ctx: RegistryContext,
  repo: RepositoryRef,
  ref: string,
  body: Buffer,
  mediaType: string,
  signal?: AbortSignal,
): Promise<Digest> {
  const digest = digestOf(body);
  const origin = pushOrigin(ctx, repo.registry);
  const res = await ctx.send({
    method: "PUT",
    url: new URL(`/v2/${repo.repository}/manifests/${ref}`, origin),
    headers: { "content-type": mediaType, "content-length": String(body.length) },
    body,
    scope: repositoryScope(repo.repository, ["pull", "push"]),
    signal,
  });
  if (res.status !== 201)
    throw await responseError(res, `push of manifest ${repo.registry}/${repo.repository}:${ref}`);
  await res.dump();
  return digest;
}

/**
 * The first two steps of every blob upload: HEAD (the registry may hold it already), then POST
 * to open an upload session. Returns "exists", or where and under which scope to continue.
 */
async function startUpload(
  ctx: RegistryContext,
  repo: RepositoryRef,
  digest: Digest,
  signal: AbortSignal | undefined,
): Promise<"exists" | { origin: string; scope: string; subject: string; location: string }> {
  const origin = pushOrigin(ctx, repo.registry);
  const scope = repositoryScope(repo.repository, ["pull", "push"]);
  const subject = `push of blob ${digest} to ${repo.registry}/${repo.repository}`;
  const head = await ctx.send({
    method: "HEAD",
    url: new URL(`/v2/${repo.repository}/blobs/${digest}`, origin),
    headers: {},
    scope,
    signal,
  });
  await head.dump();
  if (head.status === 200) return "exists";
  const start = await ctx.send({
    method: "POST",
    url: new URL(`/v2/${repo.repository}/blobs/uploads/`, origin),
    headers: { "content-length": "0" },
    scope,
    signal,
    redirect: "manual",
  });
  if (start.status !== 202) throw await responseError(start, subject);
  await start.dump();
  const location = header(start, "location");
  if (!location)
    throw new RegistryError(`${subject}: upload started without a Location`, { status: 202 });
  return { origin, scope, subject, location };
}
