/**
 * The tar headers recorded in a tar-split, as asm.IterateHeaders finds them (spec §4.5): each
 * SegmentType holds [previous entry's padding][extension headers][header block], so skip the
 * pending padding, parse one header (with PAX/GNU extensions) from the rest, and skip segments
 * that turn out to be end-of-archive blocks. FileType entries carry no header.
 */
import { FormatError } from "../../errors.js";
import { blockPadding } from "../tar/block.js";
import { readTar } from "../tar/reader.js";
import type { TarHeader } from "../tar/types.js";
import type { TarSplitEntry } from "./entry.js";

/** The first header in `segment`, with the number of raw bytes it used; null at end blocks. */
async function headerOf(segment: Buffer): Promise<{ header: TarHeader; rawLength: number } | null> {
  // The tar reader is lazy: it parses the header and stops before the (absent) data.
  for await (const ev of readTar([segment])) {
    if (ev.type === "entry") return { header: ev.header, rawLength: ev.raw.length };
    return null; // "end": the segment holds the end-of-archive blocks (or trailing zeros)
  }
  return null; // an empty segment behaves like Go's io.EOF
}

export async function* iterateHeaders(
  entries: AsyncIterable<TarSplitEntry>,
): AsyncGenerator<TarHeader> {
  let pendingPadding = 0;
  for await (const e of entries) {
    if (e.type !== 2) continue;
    if (e.payload.length < pendingPadding) {
      throw new FormatError(
        `tar-split entry ${e.position}: expected ${pendingPadding} bytes of padding after previous file, but the segment only has ${e.payload.length} bytes`,
      );
    }
    const rest = e.payload.subarray(pendingPadding);
    pendingPadding = 0;
    let found: Awaited<ReturnType<typeof headerOf>>;
    try {
      found = await headerOf(rest);
    } catch (err) {
      if (err instanceof FormatError) {
        throw new FormatError(
          `tar-split entry ${e.position}: decoding a tar header: ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
    if (found === null) continue;
    yield found.header;
    // Go's ExpectedPadding: padding after the entry's data section. For a PAX global header the
    // record data sits in this segment unpadded, so its padding follows too.
    pendingPadding = blockPadding(found.rawLength + found.header.size);
  }
}
