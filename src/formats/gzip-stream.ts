/**
 * Streaming gunzip for layer bytes whose failures say what broke: zlib's own errors
 * (`incorrect data check`, `invalid block type`, `unexpected end of file`) carry no path, layer
 * or offset, and no ChunkpullError code. Here they become a FormatError (EFORMAT) naming what
 * was being inflated and how far in it failed; errors of the source stream (a digest mismatch,
 * a dropped connection) pass through unchanged.
 */
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ChunkpullError, FormatError } from "../errors.js";

/**
 * Output pieces of 256 KiB instead of zlib's 16 KiB: each piece is a thread-pool round trip and
 * a buffer for the consumer, and a layer is tens of megabytes.
 */
const OUTPUT_PIECE = 256 << 10;

/** A zlib failure as an EFORMAT naming `what`; anything else unchanged. */
export function wrapZlibError(err: unknown, what: string, atByte?: number): unknown {
  if (err instanceof ChunkpullError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("Z_")) {
    const where = atByte === undefined ? "" : ` within its first ${atByte} compressed bytes`;
    return new FormatError(
      `${what}: gzip data does not inflate${where}: ${(err as Error).message} (${code})`,
      { cause: err },
    );
  }
  return err;
}

/** gunzip(source) (one or more members), failing with a FormatError naming `what`. */
export async function* gunzipStream(
  source: AsyncIterable<Buffer> | Readable,
  what: string,
): AsyncGenerator<Buffer> {
  let fed = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const piece of source) {
      fed += (piece as Buffer).length;
      yield piece as Buffer;
    }
  }
  // pipeline (not pipe): an error of the source reaches the consumer.
  const out = pipeline(
    Readable.from(counted()),
    createGunzip({ chunkSize: OUTPUT_PIECE }),
    () => {},
  );
  try {
    for await (const piece of out) yield piece as Buffer;
  } catch (err) {
    throw wrapZlibError(err, what, fed);
  } finally {
    out.destroy();
  }
}
