/**
 * The tar headers recorded in a tar-split, as asm.IterateHeaders finds them (spec §4.5): each
 * SegmentType holds [previous entry's padding][extension headers][header block], so skip the
 * pending padding, parse one header (with PAX/GNU extensions) from the rest, and skip segments
 * that turn out to be end-of-archive blocks. FileType entries carry no header.
 *
 * A segment is already in memory, so its header is parsed synchronously here instead of through
 * the streaming tar reader (an async generator and a byte queue per segment cost more than the
 * parsing on a tar-split with thousands of entries). `headerOf` follows the reader's
 * readNextHeader step by step, with the same checks and messages; a test holds the two equal.
 */
import { FormatError } from "../../errors.js";
import { BLOCK_SIZE, blockPadding, isZeroBlock, MAX_RAW_PER_ENTRY } from "../tar/block.js";
import { type Extensions, globalHeader } from "../tar/header.js";
import {
  applyExtension,
  checkedHeader,
  contextError,
  finishedHeader,
} from "../tar/header-checks.js";
import { parsePaxRecords } from "../tar/pax.js";
import type { TarHeader } from "../tar/types.js";
import type { TarSplitEntry } from "./entry.js";

/** Offsets of the fields that chain GNU old-sparse extension blocks (as in the tar reader). */
const GNU_SPARSE_IS_EXTENDED = 482;
const SPARSE_EXT_IS_EXTENDED = 504;

/**
 * The first header in `seg`, with the number of raw bytes it used; null at end blocks or for an
 * empty segment (Go's io.EOF). Throws FormatError like the tar reader would on the same bytes.
 */
export function headerOf(seg: Buffer): { header: TarHeader; rawLength: number } | null {
  const ext: Extensions = {};
  const pendingExtension = (): boolean =>
    ext.pax !== undefined || ext.longName !== undefined || ext.longLink !== undefined;
  let pos = 0;
  const consume = (n: number): Buffer => {
    const b = seg.subarray(pos, pos + n);
    pos += b.length;
    if (pos > MAX_RAW_PER_ENTRY) {
      throw new FormatError(
        `tar: more than ${MAX_RAW_PER_ENTRY} bytes of headers before one entry`,
      );
    }
    return b;
  };
  for (;;) {
    const offset = pos;
    const left = seg.length - pos;
    if (left === 0) {
      if (pendingExtension())
        throw new FormatError(
          `tar: archive ends at offset ${offset} after an extension header, before its entry`,
        );
      return null;
    }
    if (left < BLOCK_SIZE) {
      throw new FormatError(
        `tar: truncated header at offset ${offset}: ${left} of ${BLOCK_SIZE} bytes`,
      );
    }
    const block = consume(BLOCK_SIZE);
    if (isZeroBlock(block)) {
      if (pendingExtension())
        throw new FormatError(
          `tar: end-of-archive block at offset ${offset} right after an extension header`,
        );
      const rest = seg.length - pos;
      if (rest === 0) return null;
      if (rest < BLOCK_SIZE) {
        throw new FormatError(
          `tar: truncated end-of-archive block at offset ${offset + BLOCK_SIZE}`,
        );
      }
      if (isZeroBlock(consume(BLOCK_SIZE))) return null;
      throw new FormatError(
        `tar: zero block at offset ${offset} followed by a non-zero block (invalid header)`,
      );
    }
    const { h, format } = checkedHeader(block, offset);
    const t = h.typeflag;
    if (t === "x" || t === "g" || t === "L" || t === "K") {
      const size = h.declaredSize;
      if (seg.length - pos < size) {
        throw new FormatError(
          `tar: truncated extension data at offset ${offset + BLOCK_SIZE}: ${seg.length - pos} of ${size} bytes`,
        );
      }
      const data = consume(size);
      if (t === "g") {
        let records: Map<string, Buffer>;
        try {
          records = parsePaxRecords(data);
        } catch (e) {
          contextError(e, "PAX global header", offset);
        }
        return { header: globalHeader(h, records), rawLength: pos };
      }
      const pad = blockPadding(size);
      if (seg.length - pos < pad)
        throw new FormatError(`tar: truncated padding after extension header at offset ${offset}`);
      consume(pad);
      applyExtension(t, data, ext, offset);
      continue;
    }
    finishedHeader(h, ext, offset);
    if (t === "S" && format === "gnu") {
      // Old GNU sparse headers chain extra 512-byte sparse-map blocks, raw-accounted.
      let extended = block[GNU_SPARSE_IS_EXTENDED] !== 0;
      while (extended) {
        const at = pos;
        if (seg.length - pos < BLOCK_SIZE)
          throw new FormatError(`tar: truncated sparse extension block at offset ${at}`);
        extended = consume(BLOCK_SIZE)[SPARSE_EXT_IS_EXTENDED] !== 0;
      }
    }
    return { header: h, rawLength: pos };
  }
}

/** The headers of a tar-split's segments, in order (a synchronous walk over parsed entries). */
export function* headersOf(entries: Iterable<TarSplitEntry>): Generator<TarHeader> {
  let pendingPadding = 0;
  for (const e of entries) {
    if (e.type !== 2) continue;
    const found = headerAfterPadding(e, pendingPadding);
    pendingPadding = 0;
    if (found === null) continue;
    yield found.header;
    // Go's ExpectedPadding: padding after the entry's data section. For a PAX global header the
    // record data sits in this segment unpadded, so its padding follows too.
    pendingPadding = blockPadding(found.rawLength + found.header.size);
  }
}

function headerAfterPadding(
  e: { payload: Buffer; position: number },
  pendingPadding: number,
): ReturnType<typeof headerOf> {
  if (e.payload.length < pendingPadding) {
    throw new FormatError(
      `tar-split entry ${e.position}: expected ${pendingPadding} bytes of padding after previous file, but the segment only has ${e.payload.length} bytes`,
    );
  }
  try {
    return headerOf(e.payload.subarray(pendingPadding));
  } catch (err) {
    if (err instanceof FormatError) {
      throw new FormatError(
        `tar-split entry ${e.position}: decoding a tar header: ${err.message}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

export async function* iterateHeaders(
  entries: AsyncIterable<TarSplitEntry>,
): AsyncGenerator<TarHeader> {
  let pendingPadding = 0;
  for await (const e of entries) {
    if (e.type !== 2) continue;
    const found = headerAfterPadding(e, pendingPadding);
    pendingPadding = 0;
    if (found === null) continue;
    yield found.header;
    pendingPadding = blockPadding(found.rawLength + found.header.size);
  }
}
