/**
 * Blob uploads: POST (session, monolithic with ?digest=, cross-repository mount), PATCH chunks,
 * PUT to finish, GET status, DELETE cancel. Bytes go to the store's temporary area and become a
 * visible blob only after the digest check (UploadSession.commit).
 */
import { endWith, type RequestContext, sendError } from "./http.js";
import { isValidDigest, isValidName } from "./names.js";
import type { Handling } from "./state.js";
import type { UploadSession } from "./storage/types.js";

function uploadHeaders(repo: string, s: UploadSession): Record<string, string> {
  return {
    Location: `/v2/${repo}/blobs/uploads/${s.id}`,
    "Docker-Upload-UUID": s.id,
    Range: `0-${Math.max(0, s.size - 1)}`,
    "Content-Length": "0",
  };
}

function tooLarge(ctx: RequestContext, limit: number): void {
  sendError(
    ctx,
    413,
    "SIZE_INVALID",
    `upload larger than the limit of ${limit} bytes`,
    { limit },
    {
      Connection: "close",
    },
  );
}

/** Stream the request body into the session; false when the size limit was hit. */
async function receive(h: Handling, s: UploadSession): Promise<boolean> {
  const limit = h.state.maxUploadBytes;
  const declared = Number(h.ctx.req.headers["content-length"] ?? 0);
  if (declared > limit - s.size) return false;
  for await (const c of h.ctx.req) {
    const chunk = c as Buffer;
    if (s.size + chunk.length > limit) return false;
    await s.write(chunk);
  }
  return true;
}

async function finish(
  h: Handling,
  repo: string,
  s: UploadSession,
  digest: string | null,
): Promise<void> {
  const { ctx, state } = h;
  state.uploads.delete(s.id);
  if (digest === null || !isValidDigest(digest)) {
    await s.abort();
    sendError(ctx, 400, "DIGEST_INVALID", "digest missing or invalid", digest);
    return;
  }
  const result = await s.commit(digest);
  if (!result.ok) {
    sendError(ctx, 400, "DIGEST_INVALID", "provided digest did not match uploaded content", {
      expected: digest,
      actual: result.actual,
    });
    return;
  }
  await state.storage.linkBlob(repo, digest);
  ctx.rec.digest = digest;
  ctx.res.writeHead(201, {
    Location: `/v2/${repo}/blobs/${digest}`,
    "Docker-Content-Digest": digest,
    "Content-Length": "0",
  });
  endWith(ctx, Buffer.alloc(0));
}

async function post(h: Handling, repo: string): Promise<void> {
  const { ctx, state } = h;
  const q = ctx.url.searchParams;
  const mount = q.get("mount");
  const from = q.get("from");
  if (mount !== null && from !== null && isValidDigest(mount) && isValidName(from)) {
    // Mount only what the caller may pull from the source; otherwise fall back to an upload.
    if (
      state.auth.canAccess(h.decision, from, "pull") &&
      (await state.storage.isLinked(from, mount))
    ) {
      await state.storage.linkBlob(repo, mount);
      ctx.rec.digest = mount;
      ctx.res.writeHead(201, {
        Location: `/v2/${repo}/blobs/${mount}`,
        "Docker-Content-Digest": mount,
        "Content-Length": "0",
      });
      endWith(ctx, Buffer.alloc(0));
      return;
    }
  }
  const session = await state.storage.newUpload(repo);
  const digest = q.get("digest");
  if (digest !== null) {
    if (!(await receive(h, session))) {
      await session.abort();
      return tooLarge(ctx, state.maxUploadBytes);
    }
    return finish(h, repo, session, digest);
  }
  state.uploads.set(session.id, session);
  ctx.res.writeHead(202, uploadHeaders(repo, session));
  endWith(ctx, Buffer.alloc(0));
}

export async function handleUpload(
  h: Handling,
  repo: string,
  id: string | undefined,
): Promise<void> {
  const { ctx, state } = h;
  const method = ctx.req.method;
  if (id === undefined) {
    if (method === "POST") return post(h, repo);
    sendError(ctx, 405, "UNSUPPORTED", `method ${method} not allowed on uploads`);
    return;
  }
  const session = state.uploads.get(id);
  if (!session || session.repo !== repo) {
    sendError(ctx, 404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", id);
    return;
  }
  switch (method) {
    case "GET":
      ctx.res.writeHead(204, uploadHeaders(repo, session));
      endWith(ctx, Buffer.alloc(0));
      return;
    case "DELETE":
      state.uploads.delete(id);
      await session.abort();
      ctx.res.writeHead(204, { "Content-Length": "0" });
      endWith(ctx, Buffer.alloc(0));
      return;
    case "PATCH": {
      const cr = ctx.req.headers["content-range"];
      if (cr !== undefined) {
        const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(cr.trim());
        if (!m || Number(m[1]) !== session.size) {
          const body = Buffer.from(
            `${JSON.stringify({ errors: [{ code: "BLOB_UPLOAD_INVALID", message: `chunk out of order: have ${session.size} bytes, got Content-Range ${cr}` }] })}\n`,
          );
          ctx.res.writeHead(416, {
            ...uploadHeaders(repo, session),
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": String(body.length),
          });
          endWith(ctx, body);
          return;
        }
      }
      if (!(await receive(h, session))) {
        state.uploads.delete(id);
        await session.abort();
        return tooLarge(ctx, state.maxUploadBytes);
      }
      ctx.res.writeHead(202, uploadHeaders(repo, session));
      endWith(ctx, Buffer.alloc(0));
      return;
    }
    case "PUT":
      if (!(await receive(h, session))) {
        state.uploads.delete(id);
        await session.abort();
        return tooLarge(ctx, state.maxUploadBytes);
      }
      return finish(h, repo, session, ctx.url.searchParams.get("digest"));
    default:
      sendError(ctx, 405, "UNSUPPORTED", `method ${method} not allowed on uploads`);
  }
}
