/**
 * Streaming blob download: `Accept-Encoding: identity`, redirects via the shared storage-URL
 * cache, and verification of size and digest at the end. A broken body is resumed by the
 * client's resume layer (resume.ts: `Range: bytes=N-`, trusted only as a 206 starting at N; a
 * 200 restarts and skips the bytes already delivered). Memory stays at one chunk.
 */
import { pipeline, Readable } from "node:stream";
import { FormatError } from "../errors.js";
import { type BlobRef, type RegistryContext, requestBlob, withOrigins } from "./context.js";
import { header } from "./http.js";
import { responseError } from "./status-errors.js";
import { VerifyingStream } from "./verify-stream.js";

export interface OpenBlobOptions {
  signal?: AbortSignal;
  /** Skip verification (the caller verifies, e.g. a partially read blob). Default false. */
  noVerify?: boolean;
}

export function blobSubject(blob: BlobRef): string {
  return `blob ${blob.registry}/${blob.repository}@${blob.digest}`;
}

/**
 * Open a verified stream of the whole blob. Resolves once the registry answered 200 (so 401/404
 * reject here); later failures (digest, size, exhausted resumes) surface as stream errors.
 */
export async function openBlobStream(
  ctx: RegistryContext,
  blob: BlobRef,
  options: OpenBlobOptions = {},
): Promise<Readable> {
  const subject = blobSubject(blob);
  const first = await withOrigins(ctx, blob.registry, async (o) => {
    const res = await requestBlob(ctx, o, blob, {}, options.signal);
    if (res.status !== 200) throw await responseError(res, subject);
    const length = header(res, "content-length");
    if (length !== undefined && blob.size !== undefined && Number(length) !== blob.size) {
      res.abort();
      throw new FormatError(
        `${subject}: server announces ${length} bytes, the descriptor says ${blob.size}`,
      );
    }
    return res;
  });
  // The body resumes itself where a connection breaks (resume.ts: the request is resumable).
  const source = Readable.from(first.body, { objectMode: false });
  if (options.noVerify) return source;
  const verifier = new VerifyingStream(blob.digest, blob.size, subject);
  return pipeline(source, verifier, () => {
    // Errors are delivered to the consumer through `verifier`.
  });
}
