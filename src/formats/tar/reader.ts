/**
 * Streaming tar reader behaving like Go's archive/tar as forked by vbatts/tar-split with
 * RawAccounting (spec §4.3): every input byte comes out exactly once, as `raw` (padding,
 * extension headers, header blocks, end blocks), as entry `data`, or as `trailing` bytes.
 *
 * `data`, `trailing` and most `raw` buffers are views into the input chunks (no copies), so a
 * source must not reuse a chunk's memory after yielding it (Node streams never do).
 *
 * Decisions where Go is silent or lossy:
 * - PAX global headers (`g`) are yielded as entries with typeflag "g" and size 0; their record
 *   data is part of that entry's `raw` (exactly Go's RawBytes), so a tar-split built from them
 *   stays byte-exact. Writers that cannot represent them (zstd:chunked, eStargz) reject them.
 * - GNU sparse entries are yielded with `sparse: true` and their physical (stored) bytes as
 *   data, not expanded; writers reject them.
 * - Input that ends inside the padding after an entry's data is a clean end (as in Go), but the
 *   partial padding is kept in `end.raw` (Go's RawBytes drops it, which would lose bytes).
 * - Input that ends right after a PAX/GNU extension header (before its real header) is a
 *   FormatError; Go would silently treat it as end of archive and drop the extension.
 * - Extension data (PAX, GNU long name/link) over 1 MiB, or more than 8 MiB of raw bytes before
 *   one header, is a FormatError (Go: maxSpecialFileSize).
 */
import { FormatError } from "../../errors.js";
import {
  BLOCK_SIZE,
  blockPadding,
  isZeroBlock,
  MAX_EXTENSION_SIZE,
  MAX_RAW_PER_ENTRY,
} from "./block.js";
import { ByteQueue } from "./byte-queue.js";
import { type Extensions, globalHeader } from "./header.js";
import { applyExtension, checkedHeader, contextError, finishedHeader } from "./header-checks.js";
import { parsePaxRecords } from "./pax.js";
import type { TarEvent, TarHeader } from "./types.js";

export { MAX_EXTENSION_SIZE, MAX_RAW_PER_ENTRY };

/** Offsets of the fields that chain GNU old-sparse extension blocks. */
const GNU_SPARSE_IS_EXTENDED = 482;
const SPARSE_EXT_IS_EXTENDED = 504;

class RawBytes {
  parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.length += b.length;
    if (this.length > MAX_RAW_PER_ENTRY) {
      throw new FormatError(
        `tar: more than ${MAX_RAW_PER_ENTRY} bytes of headers before one entry`,
      );
    }
  }
  take(): Buffer {
    const out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length);
    this.parts = [];
    this.length = 0;
    return out;
  }
}

type HeaderResult =
  | { kind: "entry"; header: TarHeader; dataSize: number; pad: number }
  | { kind: "end" };

/**
 * Read headers (with their extensions) until a real entry or the end marker. Everything read
 * goes into `raw`. `Next` in Go's reader, minus the data section.
 */
async function readNextHeader(q: ByteQueue, raw: RawBytes): Promise<HeaderResult> {
  const ext: Extensions = {};
  const pendingExtension = (): boolean =>
    ext.pax !== undefined || ext.longName !== undefined || ext.longLink !== undefined;
  for (;;) {
    const offset = q.position;
    await q.fill(BLOCK_SIZE);
    if (q.buffered === 0) {
      if (pendingExtension())
        throw new FormatError(
          `tar: archive ends at offset ${offset} after an extension header, before its entry`,
        );
      return { kind: "end" };
    }
    if (q.buffered < BLOCK_SIZE) {
      throw new FormatError(
        `tar: truncated header at offset ${offset}: ${q.buffered} of ${BLOCK_SIZE} bytes`,
      );
    }
    const block = q.take(BLOCK_SIZE);
    raw.push(block);
    if (isZeroBlock(block)) {
      if (pendingExtension())
        throw new FormatError(
          `tar: end-of-archive block at offset ${offset} right after an extension header`,
        );
      await q.fill(BLOCK_SIZE);
      if (q.buffered === 0) return { kind: "end" };
      if (q.buffered < BLOCK_SIZE) {
        throw new FormatError(
          `tar: truncated end-of-archive block at offset ${offset + BLOCK_SIZE}`,
        );
      }
      const second = q.take(BLOCK_SIZE);
      raw.push(second);
      if (isZeroBlock(second)) return { kind: "end" };
      throw new FormatError(
        `tar: zero block at offset ${offset} followed by a non-zero block (invalid header)`,
      );
    }
    const { h, format } = checkedHeader(block, offset);
    const t = h.typeflag;
    if (t === "x" || t === "g" || t === "L" || t === "K") {
      const size = h.declaredSize;
      await q.fill(size);
      if (q.buffered < size) {
        throw new FormatError(
          `tar: truncated extension data at offset ${offset + BLOCK_SIZE}: ${q.buffered} of ${size} bytes`,
        );
      }
      const data = q.take(size);
      raw.push(data);
      if (t === "g") {
        let records: Map<string, Buffer>;
        try {
          records = parsePaxRecords(data);
        } catch (e) {
          contextError(e, "PAX global header", offset);
        }
        return {
          kind: "entry",
          header: globalHeader(h, records),
          dataSize: 0,
          pad: blockPadding(size),
        };
      }
      const pad = blockPadding(size);
      await q.fill(pad);
      if (q.buffered < pad)
        throw new FormatError(`tar: truncated padding after extension header at offset ${offset}`);
      raw.push(q.take(pad));
      applyExtension(t, data, ext, offset);
      continue;
    }
    finishedHeader(h, ext, offset);
    if (t === "S" && format === "gnu") await readOldSparseExtensions(q, raw, block);
    return { kind: "entry", header: h, dataSize: h.size, pad: blockPadding(h.size) };
  }
}

/** Old GNU sparse headers chain extra 512-byte sparse-map blocks; Go raw-accounts them. */
async function readOldSparseExtensions(q: ByteQueue, raw: RawBytes, header: Buffer): Promise<void> {
  let extended = header[GNU_SPARSE_IS_EXTENDED] !== 0;
  while (extended) {
    const offset = q.position;
    await q.fill(BLOCK_SIZE);
    if (q.buffered < BLOCK_SIZE)
      throw new FormatError(`tar: truncated sparse extension block at offset ${offset}`);
    const blk = q.take(BLOCK_SIZE);
    raw.push(blk);
    extended = blk[SPARSE_EXT_IS_EXTENDED] !== 0;
  }
}

/** Parse a tar stream into TarEvents (see types.ts for the contract). */
export async function* readTar(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<TarEvent> {
  const q = new ByteQueue(source);
  const raw = new RawBytes();
  let pad = 0;
  try {
    for (;;) {
      if (pad > 0) {
        await q.fill(pad);
        const got = q.take(pad);
        raw.push(got);
        if (got.length < pad) {
          yield { type: "end", raw: raw.take() };
          return;
        }
      }
      const next = await readNextHeader(q, raw);
      if (next.kind === "end") {
        yield { type: "end", raw: raw.take() };
        break;
      }
      yield { type: "entry", header: next.header, raw: raw.take() };
      let remaining = next.dataSize;
      while (remaining > 0) {
        if (!(await q.ensureSome())) {
          throw new FormatError(
            `tar: truncated data of ${JSON.stringify(next.header.name)} at offset ${q.position}: ${remaining} of ${next.dataSize} bytes missing`,
          );
        }
        const data = q.takeSome(remaining);
        remaining -= data.length;
        yield { type: "data", data };
      }
      pad = next.pad;
    }
    while (await q.ensureSome()) {
      yield { type: "trailing", data: q.takeSome(q.buffered) };
    }
  } finally {
    await q.close();
  }
}
