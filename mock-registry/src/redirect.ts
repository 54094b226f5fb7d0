/**
 * The second origin blob GETs are redirected to (like S3/GCS/CDN storage behind a registry):
 * HMAC-signed URLs that expire, 400 when a request carries Authorization (S3: "Only one auth
 * mechanism allowed"), 403 for HEAD (the URL is signed for GET) or a bad/expired signature.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { endWith, type RequestContext } from "./http.js";

export class RedirectSigner {
  readonly #secret = randomBytes(32);
  /** Set once the storage origin listens. */
  baseUrl = "";

  #mac(repo: string, digest: string, expires: number): string {
    return createHmac("sha256", this.#secret)
      .update(`${repo}\n${digest}\n${expires}`)
      .digest("hex");
  }

  url(repo: string, digest: string, ttlSeconds: number): string {
    const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
    const q = new URLSearchParams({
      repo,
      expires: String(expires),
      sig: this.#mac(repo, digest, expires),
    });
    return `${this.baseUrl}/blobs/${digest}?${q}`;
  }

  /** Check a storage-origin URL; returns the repo when valid, or a reason. */
  check(
    digest: string,
    q: URLSearchParams,
  ): { ok: true; repo: string } | { ok: false; reason: "expired" | "signature" } {
    const repo = q.get("repo") ?? "";
    const expires = Number(q.get("expires"));
    const sig = Buffer.from(q.get("sig") ?? "");
    const want = Buffer.from(this.#mac(repo, digest, expires));
    if (!Number.isInteger(expires) || sig.length !== want.length || !timingSafeEqual(sig, want)) {
      return { ok: false, reason: "signature" };
    }
    if (expires * 1000 < Date.now()) return { ok: false, reason: "expired" };
    return { ok: true, repo };
  }
}

/** An S3-style XML error. */
export function sendStorageError(
  ctx: RequestContext,
  status: number,
  code: string,
  message: string,
): void {
  const body = Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
  ctx.res.writeHead(status, {
    "Content-Type": "application/xml",
    "Content-Length": String(body.length),
  });
  endWith(ctx, ctx.req.method === "HEAD" ? Buffer.alloc(0) : body);
}
