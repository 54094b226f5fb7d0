/**
 * Streaming blob download: `Accept-Encoding: identity`, redirects via the shared storage-URL
 * cache, resume of a broken body with `Range: bytes=N-` (only trusted when the answer is 206
 * starting at N; a 200 restarts and skips the bytes already delivered), and verification of
 * size and digest at the end. Memory stays at one chunk.
 */
import { pipeline, Readable } from "node:stream";
import { FormatError } from "../errors.js";
import { type BlobRef, type RegistryContext, requestBlob, withOrigins } from "./context.js";
import { RangeResponseError } from "./errors.js";
import { displayUrl, type HttpResponse, header, isAbortError, sleep } from "./http.js";
import type { Endpoint } from "./mirrors.js";
import { parseContentRange } from "./multipart.js";
import { backoffDelay, isRetryableNetworkError } from "./retry.js";
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
  let origin: Endpoint | undefined;
  const first = await withOrigins(ctx, blob, "digest", blob.digest, async (o) => {
    const res = await requestBlob(ctx, o, blob, {}, options.signal);
    if (res.status !== 200) throw await responseError(res, subject);
    const length = header(res, "content-length");
    if (length !== undefined && blob.size !== undefined && Number(length) !== blob.size) {
      res.abort();
      throw new FormatError(
        `${subject}: server announces ${length} bytes, the descriptor says ${blob.size}`,
      );
    }
    origin = o;
    return res;
  });
  const source = resumingBody(ctx, origin!, blob, first, options.signal);
  if (options.noVerify) return source;
  const verifier = new VerifyingStream(blob.digest, blob.size, subject);
  return pipeline(source, verifier, () => {
    // Errors are delivered to the consumer through `verifier`.
  });
}

function resumingBody(
  ctx: RegistryContext,
  origin: Endpoint,
  blob: BlobRef,
  first: HttpResponse,
  signal: AbortSignal | undefined,
): Readable {
  const subject = blobSubject(blob);
  const retries = ctx.retry.retries ?? 4;
  async function* chunks(): AsyncGenerator<Buffer> {
    let res = first;
    let delivered = 0;
    let failures = 0;
    let skip = 0; // bytes to drop from a 200 answer to a resume request
    for (;;) {
      try {
        for await (let chunk of res.body) {
          if (skip > 0) {
            const n = Math.min(skip, chunk.length);
            skip -= n;
            chunk = chunk.subarray(n);
            if (chunk.length === 0) continue;
          }
          delivered += chunk.length;
          failures = 0;
          yield chunk;
        }
        if (skip > 0)
          throw new FormatError(`${subject}: restarted body ended before the resume offset`);
        return;
      } catch (e) {
        if (isAbortError(e) || !isRetryableNetworkError(e) || failures >= retries) throw e;
        failures++;
      }
      await sleep(backoffDelay(failures - 1, ctx.retry), signal);
      res = await requestBlob(ctx, origin, blob, { range: `bytes=${delivered}-` }, signal);
      if (res.status === 206) {
        const cr = parseContentRange(header(res, "content-range"), `${subject} resume`);
        if (
          cr.start !== delivered ||
          (cr.total !== undefined && blob.size !== undefined && cr.total !== blob.size)
        ) {
          res.abort();
          throw new RangeResponseError(
            `${subject}: resume at ${delivered} answered with range ${cr.start}-${cr.end}/${cr.total ?? "*"}`,
            {
              status: 206,
              url: displayUrl(res.url),
            },
          );
        }
      } else if (res.status === 200) {
        skip = delivered; // the server ignored Range: drop what we already have
      } else {
        throw await responseError(res, `${subject} (resume at byte ${delivered})`);
      }
    }
  }
  // Readable.from over an async generator: consumer back-pressure drives the network reads.
  return Readable.from(chunks(), { objectMode: false });
}
