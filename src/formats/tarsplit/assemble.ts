/**
 * Rebuilding the tar from a tar-split and file contents (asm.WriteOutputTarStream, spec §4.4):
 * segments are copied verbatim, FileType entries with size > 0 are filled from `getFile` and
 * checked (exact size, CRC-64) before the next entry is written.
 */
import { DigestMismatchError, FormatError } from "../../errors.js";
import { Crc64 } from "./crc64.js";
import { entryName, type TarSplitEntry } from "./entry.js";

/** Content of a file by tar-split name (name_raw decoded lossily) and expected size. */
export type FileGetter = (
  name: string,
  size: number,
) => Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>;

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.length);
}

export interface AssembleOptions {
  /**
   * Check each file against the tar-split's CRC-64 (default). A caller that hashes the whole tar
   * against its diff_id turns it off: that digest proves every byte, the CRC only says earlier
   * which file was wrong, and the content source has already checked each file by its digest.
   */
  crc?: boolean;
}

/** Stream the rebuilt tar. Throws FormatError (size) or DigestMismatchError (CRC) per file. */
export async function* assembleTar(
  entries: AsyncIterable<TarSplitEntry>,
  getFile: FileGetter,
  options: AssembleOptions = {},
): AsyncGenerator<Buffer> {
  const checkCrc = options.crc ?? true;
  for await (const e of entries) {
    if (e.type === 2) {
      if (e.payload.length > 0) yield e.payload;
      continue;
    }
    if (e.size <= 0) continue; // dirs, links, devices, empty files: nothing to fetch
    const name = entryName(e);
    if (e.payload === null || e.payload.length !== 8) {
      throw new FormatError(`tar-split: file ${JSON.stringify(name)} has no valid CRC-64`);
    }
    const crc = checkCrc ? new Crc64() : undefined;
    let got = 0;
    const content = await getFile(name, e.size);
    for await (const chunk of content) {
      const b = asBuffer(chunk);
      got += b.length;
      if (got > e.size) {
        throw new FormatError(
          `tar-split: content of ${JSON.stringify(name)} is longer than its size ${e.size}`,
        );
      }
      crc?.update(b);
      if (b.length > 0) yield b;
    }
    if (got !== e.size) {
      throw new FormatError(
        `tar-split: content of ${JSON.stringify(name)} has ${got} bytes, expected ${e.size}`,
      );
    }
    if (!crc) continue;
    const actual = crc.digest();
    if (!actual.equals(e.payload)) {
      throw new DigestMismatchError(
        `file ${JSON.stringify(name)} (tar-split CRC-64)`,
        `crc64:${e.payload.toString("hex")}`,
        `crc64:${actual.toString("hex")}`,
      );
    }
  }
}

/**
 * Size of the tar a tar-split rebuilds (c/storage tarSizeFromTarSplit): segment bytes plus
 * file sizes.
 */
export async function tarSizeFromTarSplit(entries: AsyncIterable<TarSplitEntry>): Promise<number> {
  let size = 0;
  for await (const e of entries) size += e.type === 2 ? e.payload.length : e.size;
  return size;
}
