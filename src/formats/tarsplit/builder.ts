/**
 * Building a tar-split from TarEvents exactly as vbatts/tar-split v0.12.1's
 * asm.NewInputTarStream + storage.NewJSONPacker do (spec §4.3): per entry one SegmentType with
 * its raw bytes (when non-empty) and one FileType (CRC-64 of the data, or null when the header
 * size is 0), then the end-of-archive raw bytes, then trailing bytes in segments of 1 MiB.
 */
import { FormatError, UnsupportedError } from "../../errors.js";
import { goCleanPath } from "../tar/path.js";
import type { TarEvent } from "../tar/types.js";
import { Crc64 } from "./crc64.js";
import { encodeEntry, fileEntry } from "./entry.js";

/** tar-split's paddingChunkSize: trailing bytes go out in segments of at most this size. */
export const TRAILING_SEGMENT_SIZE = 1024 * 1024;

/** Go's ErrDuplicatePath message, with the offending name. */
export function duplicatePathError(name: string): FormatError {
  return new FormatError(
    `tar-split: duplicates of file paths not supported: ${JSON.stringify(name)} appears twice (after path cleaning)`,
  );
}

/** Key for the duplicate set: Go cleans the name's bytes, so clean a byte-preserving string. */
export function duplicateKey(nameBytes: Buffer): string {
  return goCleanPath(nameBytes.toString("latin1"));
}

interface PendingFile {
  nameBytes: Buffer;
  size: number;
  crc: Crc64 | null;
}

export class TarSplitBuilder {
  private position = 0;
  private written = 0;
  private readonly seen = new Set<string>();
  private pending: PendingFile | null = null;
  private trailing: Buffer[] = [];
  private trailingLength = 0;
  private finished = false;

  /** UTF-8 bytes of JSON produced so far (the tar-split's uncompressed size once finished). */
  get bytesWritten(): number {
    return this.written;
  }

  /** Feed one event; returns the JSON lines it completes (possibly ""). */
  push(event: TarEvent): string {
    if (this.finished) throw new Error("TarSplitBuilder: push after finish");
    switch (event.type) {
      case "entry": {
        const h = event.header;
        if (h.sparse) {
          throw new UnsupportedError(
            `tar-split: sparse entry ${JSON.stringify(h.name)} cannot be reproduced`,
          );
        }
        let out = this.flushFile();
        const key = duplicateKey(h.nameBytes);
        if (this.seen.has(key)) throw duplicatePathError(h.name);
        this.seen.add(key);
        if (event.raw.length > 0) out += this.emit({ type: 2, payload: event.raw, position: 0 });
        // Go checksums the data only when hdr.Size > 0; for header-only types with a non-zero
        // size field that is the CRC of zero bytes (spec §4.4, pitfall P21).
        this.pending = {
          nameBytes: h.nameBytes,
          size: h.declaredSize,
          crc: h.declaredSize > 0 ? new Crc64() : null,
        };
        return out;
      }
      case "data":
        if (this.pending === null) throw new Error("TarSplitBuilder: data event without an entry");
        this.pending.crc?.update(event.data);
        return "";
      case "end": {
        let out = this.flushFile();
        if (event.raw.length > 0) out += this.emit({ type: 2, payload: event.raw, position: 0 });
        return out;
      }
      case "trailing":
        return this.pushTrailing(event.data);
    }
  }

  /** Flush what is still buffered (last file entry, last partial trailing segment). */
  finish(): string {
    if (this.finished) return "";
    let out = this.flushFile();
    if (this.trailingLength > 0) out += this.emitTrailing(this.trailingLength);
    this.finished = true;
    return out;
  }

  private pushTrailing(data: Buffer): string {
    let out = this.flushFile();
    this.trailing.push(data);
    this.trailingLength += data.length;
    while (this.trailingLength >= TRAILING_SEGMENT_SIZE)
      out += this.emitTrailing(TRAILING_SEGMENT_SIZE);
    return out;
  }

  private emitTrailing(n: number): string {
    const all = this.trailing.length === 1 ? this.trailing[0]! : Buffer.concat(this.trailing);
    const segment = all.subarray(0, n);
    const rest = all.subarray(n);
    this.trailing = rest.length > 0 ? [rest] : [];
    this.trailingLength = rest.length;
    return this.emit({ type: 2, payload: Buffer.from(segment), position: 0 });
  }

  private flushFile(): string {
    const p = this.pending;
    if (p === null) return "";
    this.pending = null;
    return this.emit(fileEntry(p.nameBytes, p.size, p.crc ? p.crc.digest() : null, 0));
  }

  private emit(e: Parameters<typeof encodeEntry>[0]): string {
    e.position = this.position++;
    const line = encodeEntry(e);
    this.written += Buffer.byteLength(line, "utf8");
    return line;
  }
}
