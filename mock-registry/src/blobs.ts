/** GET/HEAD/DELETE /v2/<name>/blobs/<digest>, including the redirect to the storage origin. */
import { endWith, sendError } from "./http.js";
import { isValidDigest } from "./names.js";
import { serveBlob } from "./serve-blob.js";
import type { Handling, RegistryState } from "./state.js";

export async function blobSource(state: RegistryState, digest: string) {
  const size = await state.storage.blobSize(digest);
  if (size === undefined) return undefined;
  return { digest, size, open: (s: number, e: number) => state.storage.openBlob(digest, s, e) };
}

export async function handleBlob(h: Handling, repo: string, digest: string): Promise<void> {
  const { ctx, state, modes } = h;
  const method = ctx.req.method;
  if (method !== "GET" && method !== "HEAD" && method !== "DELETE") {
    sendError(ctx, 405, "UNSUPPORTED", `method ${method} not allowed on blobs`);
    return;
  }
  if (!isValidDigest(digest)) {
    sendError(ctx, 400, "DIGEST_INVALID", "provided digest did not match uploaded content", digest);
    return;
  }
  if (!(await state.storage.repoExists(repo))) {
    sendError(ctx, 404, "NAME_UNKNOWN", "repository name not known to registry", { name: repo });
    return;
  }
  const blob = (await state.storage.isLinked(repo, digest))
    ? await blobSource(state, digest)
    : undefined;
  if (!blob) {
    sendError(ctx, 404, "BLOB_UNKNOWN", "blob unknown to registry", digest);
    return;
  }
  if (method === "DELETE") {
    await state.storage.unlinkBlob(repo, digest);
    ctx.res.writeHead(202, { "Content-Length": "0", "Docker-Content-Digest": digest });
    endWith(ctx, Buffer.alloc(0));
    return;
  }
  if (modes.redirectBlobs && method === "GET") {
    ctx.rec.redirected = true;
    ctx.res.writeHead(307, {
      Location: state.redirect.url(repo, digest, modes.redirectTtlSeconds),
      "Content-Length": "0",
      "Docker-Content-Digest": digest,
    });
    endWith(ctx, Buffer.alloc(0));
    return;
  }
  await serveBlob(ctx, blob, modes);
}
