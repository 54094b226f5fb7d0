/**
 * The verify stage: hashes a rebuilt layer tar as it is assembled and requires the config's
 * diff_id. When the layer has no tar-split of its own (zstd:chunked rebuilt from its frames),
 * one is built in the same pass, so the stored layer can be exported later; a tar our reader
 * cannot describe still counts as pulled, without a tar-split.
 *
 * Such a frames-rebuilt tar may also lack its trailing zero padding (containers/storage 1.43,
 * skopeo 1.9 cut it while the config keeps the original tar's diff_id): when the tar misses the
 * diff_id, the standard paddings are tried (formats/tar/padding.ts) and one is accepted only when
 * the padded tar hashes to the diff_id; the zeros then go into the tar-split as trailing bytes,
 * so the stored layer exports the exact tar.
 */
import type { Digest } from "../digest.js";
import { ChunkpullError, DigestMismatchError } from "../errors.js";
import { PaddedTarHash } from "../formats/tar/padding.js";
import { readTar } from "../formats/tar/reader.js";
import { TarSplitBuilder } from "../formats/tarsplit/builder.js";

/** The rebuilt tar does not hash to the diff_id (as opposed to a mismatch of one of its parts). */
export class TarDigestMismatchError extends DigestMismatchError {}

export interface VerifiedTar {
  size: number;
  /** Built on the way when asked for and the tar allows one. */
  tarSplit?: Buffer;
  /** Zero bytes appended to match the diff_id (only with `padding`); included in `size`. */
  trailingPadding?: number;
}

export async function verifyTar(
  tar: AsyncIterable<Buffer>,
  expected: Digest,
  subject: string,
  opts: { describe: boolean; padding?: boolean },
): Promise<VerifiedTar> {
  const hasher = new PaddedTarHash();
  let failure: { error: unknown } | undefined;
  async function* hashed(): AsyncGenerator<Buffer> {
    try {
      for await (const piece of tar) {
        hasher.update(piece);
        yield piece;
      }
    } catch (error) {
      failure = { error };
      throw error;
    }
  }
  const pieces = hashed();
  let described: Described | undefined;
  if (opts.describe) {
    // The tar reader sees the pieces through a view it cannot close: whatever it leaves (or
    // all the rest, if it gives up describing) is still hashed below.
    const view = { [Symbol.asyncIterator]: () => ({ next: () => pieces.next() }) };
    described = await describe(view as AsyncIterable<Buffer>);
    if (failure) throw failure.error;
  }
  for await (const _ of pieces) {
    // hashing the rest
  }
  const actual = hasher.digest();
  const padding = actual === expected || !opts.padding ? 0 : hasher.paddingFor(expected);
  if (padding === undefined || (padding === 0 && actual !== expected))
    throw new TarDigestMismatchError(`rebuilt tar of ${subject}`, expected, actual);
  const size = hasher.length + padding;
  const tarSplit = described ? finishTarSplit(described, padding) : undefined;
  return {
    size,
    ...(tarSplit ? { tarSplit } : {}),
    ...(padding ? { trailingPadding: padding } : {}),
  };
}

/** A tar-split described up to the tar's end, not yet finished (padding may follow). */
interface Described {
  builder: TarSplitBuilder;
  lines: string[];
}

function finishTarSplit({ builder, lines }: Described, padding: number): Buffer {
  // The proven zeros are bytes after the archive's end, as the writer's padding would have been.
  if (padding > 0) {
    const line = builder.push({ type: "trailing", data: Buffer.alloc(padding) });
    if (line) lines.push(line);
  }
  const tail = builder.finish();
  if (tail) lines.push(tail);
  return Buffer.from(lines.join(""));
}

async function describe(tar: AsyncIterable<Buffer>): Promise<Described | undefined> {
  const builder = new TarSplitBuilder();
  const lines: string[] = [];
  try {
    for await (const ev of readTar(tar)) {
      const line = builder.push(ev);
      if (line) lines.push(line);
    }
  } catch (err) {
    if (err instanceof ChunkpullError) return undefined;
    throw err;
  }
  return { builder, lines };
}
