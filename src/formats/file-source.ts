/**
 * A RangeSource over a local file: positional reads, no buffering of the whole blob. Used for
 * offline inspection and conversion, and by tests.
 */
import { open } from "node:fs/promises";
import { FormatError } from "../errors.js";
import type { ByteRange, RangeSource } from "./layer-index.js";

export interface FileRangeSource extends RangeSource {
  close(): Promise<void>;
}

export async function openFileSource(path: string): Promise<FileRangeSource> {
  const fh = await open(path, "r");
  const size = (await fh.stat()).size;
  return {
    size,
    async read(ranges: readonly ByteRange[], signal?: AbortSignal): Promise<Buffer[]> {
      const out: Buffer[] = [];
      let prevEnd = 0;
      for (const r of ranges) {
        signal?.throwIfAborted();
        if (r.offset < prevEnd || r.length < 0 || r.offset + r.length > size) {
          throw new FormatError(
            `${path}: range [${r.offset}, ${r.offset + r.length}) is unsorted, overlapping or past the end (${size} bytes)`,
          );
        }
        prevEnd = r.offset + r.length;
        const buf = Buffer.alloc(r.length);
        let done = 0;
        while (done < r.length) {
          const { bytesRead } = await fh.read(buf, done, r.length - done, r.offset + done);
          if (bytesRead === 0) throw new FormatError(`${path}: file shrank while reading`);
          done += bytesRead;
        }
        out.push(buf);
      }
      return out;
    },
    close: () => fh.close(),
  };
}
