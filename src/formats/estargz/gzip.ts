/**
 * gzip helpers for eStargz members. Node's gunzip handles concatenated members but throws on a
 * member cut short or followed by non-gzip bytes (spec Appendix A.4), so callers always pass
 * ranges that end on member boundaries; we also stop inflating as soon as we have what we need.
 */
import { createGunzip, gunzipSync } from "node:zlib";
import { FormatError, LimitExceededError } from "../../errors.js";

/**
 * Inflate `compressed` (one or more whole gzip members) and return the uncompressed bytes
 * [skip, skip + take). Inflation stops once those bytes are out, so trailing members holding
 * padding and tar headers cost nothing.
 */
export function gunzipSlice(
  compressed: Buffer,
  skip: number,
  take: number,
  what: string,
): Promise<Buffer> {
  const want = skip + take;
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let have = 0;
    let done = false;
    const gunzip = createGunzip();
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      gunzip.destroy();
      if (err) {
        reject(err);
        return;
      }
      const all = Buffer.concat(parts, have);
      resolve(all.subarray(skip, want));
    };
    gunzip.on("data", (chunk: Buffer) => {
      parts.push(chunk);
      have += chunk.length;
      if (have >= want) finish();
    });
    gunzip.on("end", () =>
      finish(
        have >= want
          ? undefined
          : new FormatError(`${what}: gzip data holds ${have} bytes, need ${want}`),
      ),
    );
    gunzip.on("error", (err) =>
      finish(new FormatError(`${what}: invalid gzip data: ${err.message}`, { cause: err })),
    );
    gunzip.end(compressed);
  });
}

/** Inflate whole members into memory, refusing more than `limit` output bytes. */
export function gunzipBounded(compressed: Buffer, limit: number, what: string): Buffer {
  try {
    return gunzipSync(compressed, { maxOutputLength: limit });
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new LimitExceededError(`${what}: decompresses to more than ${limit} bytes`);
    }
    throw new FormatError(`${what}: invalid gzip data: ${(err as Error).message}`, { cause: err });
  }
}
