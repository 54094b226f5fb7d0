/**
 * The verify stage: hashes a rebuilt layer tar as it is assembled and requires the config's
 * diff_id. When the layer has no tar-split of its own (zstd:chunked rebuilt from its frames),
 * one is built in the same pass, so the stored layer can be exported later; a tar our reader
 * cannot describe still counts as pulled, without a tar-split.
 */
import { createHasher, type Digest } from "../digest.js";
import { ChunkpullError, DigestMismatchError } from "../errors.js";
import { readTar } from "../formats/tar/reader.js";
import { TarSplitBuilder } from "../formats/tarsplit/builder.js";

export interface VerifiedTar {
  size: number;
  /** Built on the way when asked for and the tar allows one. */
  tarSplit?: Buffer;
}

export async function verifyTar(
  tar: AsyncIterable<Buffer>,
  expected: Digest,
  subject: string,
  opts: { describe: boolean },
): Promise<VerifiedTar> {
  const hasher = createHasher();
  let size = 0;
  let failure: { error: unknown } | undefined;
  async function* hashed(): AsyncGenerator<Buffer> {
    try {
      for await (const piece of tar) {
        hasher.update(piece);
        size += piece.length;
        yield piece;
      }
    } catch (error) {
      failure = { error };
      throw error;
    }
  }
  const pieces = hashed();
  let tarSplit: Buffer | undefined;
  if (opts.describe) {
    // The tar reader sees the pieces through a view it cannot close: whatever it leaves (or
    // all the rest, if it gives up describing) is still hashed below.
    const view = { [Symbol.asyncIterator]: () => ({ next: () => pieces.next() }) };
    tarSplit = await describe(view as AsyncIterable<Buffer>);
    if (failure) throw failure.error;
  }
  for await (const _ of pieces) {
    // hashing the rest
  }
  const actual = hasher.digest();
  if (actual !== expected)
    throw new DigestMismatchError(`rebuilt tar of ${subject}`, expected, actual);
  return tarSplit ? { size, tarSplit } : { size };
}

async function describe(tar: AsyncIterable<Buffer>): Promise<Buffer | undefined> {
  const builder = new TarSplitBuilder();
  const lines: string[] = [];
  try {
    for await (const ev of readTar(tar)) {
      const line = builder.push(ev);
      if (line) lines.push(line);
    }
    const tail = builder.finish();
    if (tail) lines.push(tail);
  } catch (err) {
    if (err instanceof ChunkpullError) return undefined;
    throw err;
  }
  return Buffer.from(lines.join(""));
}
