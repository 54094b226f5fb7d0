/**
 * Streaming decompression of a zstd stream of any length with the buffer-only native binding:
 * frames are cut at their boundaries (found by walking frame and block headers as bytes arrive,
 * without re-scanning) and decompressed one at a time, so memory is bounded by the largest
 * frame, not the stream. zstd:chunked blobs are made of small frames; a plain zstd layer from a
 * single-frame writer is bounded by `maxFrameBytes` (see docs/formats.md).
 */
import { FormatError, LimitExceededError } from "../errors.js";
import { isSkippableMagic, ZSTD_MAGIC, zstdDecompress } from "./zstd.js";

export const DEFAULT_MAX_FRAME_BYTES = 1 << 30;
/** The most one frame may decompress to (the binding holds a frame's whole output at once). */
export const DEFAULT_MAX_FRAME_OUTPUT = 1 << 30;

/** Bytes received but not yet consumed, as a list of pieces (no copying while scanning). */
class Pending {
  private pieces: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    this.pieces.push(b);
    this.length += b.length;
  }

  /** Bytes [at, at+n) copied out (n is small: headers). */
  peek(at: number, n: number): Buffer {
    const out = Buffer.alloc(n);
    let skip = at;
    let filled = 0;
    for (const p of this.pieces) {
      if (skip >= p.length) {
        skip -= p.length;
        continue;
      }
      filled += p.copy(out, filled, skip, Math.min(p.length, skip + n - filled));
      skip = 0;
      if (filled === n) break;
    }
    return out;
  }

  /** Removes and returns the first n bytes as one buffer. */
  take(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const p = this.pieces[0]!;
      if (p.length <= need) {
        parts.push(p);
        this.pieces.shift();
        need -= p.length;
      } else {
        parts.push(p.subarray(0, need));
        this.pieces[0] = p.subarray(need);
        need = 0;
      }
    }
    this.length -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }
}

/** Walks one frame's headers incrementally; `end` is set once the frame's length is known. */
class FrameScanner {
  private next = -1; // offset of the next block header; -1 before the frame header was read
  private checksum = 0;
  end = -1;

  /** Advance as far as `data` allows. */
  scan(data: Pending): void {
    if (this.end >= 0) return;
    if (this.next < 0) {
      if (data.length < 8) return;
      const head = data.peek(0, 8);
      const magic = head.readUInt32LE(0);
      if (isSkippableMagic(magic)) {
        this.end = 8 + head.readUInt32LE(4);
        return;
      }
      if (magic !== ZSTD_MAGIC) {
        throw new FormatError(`not a zstd frame (magic 0x${magic.toString(16)})`);
      }
      const fhd = head[4]!;
      if ((fhd >> 3) & 1) throw new FormatError("zstd frame header has the reserved bit set");
      const singleSegment = (fhd >> 5) & 1;
      const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6]!;
      this.next = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + fcsSize;
      this.checksum = (fhd >> 2) & 1 ? 4 : 0;
    }
    while (this.next + 3 <= data.length) {
      const h = data.peek(this.next, 3);
      const bh = h[0]! | (h[1]! << 8) | (h[2]! << 16);
      const type = (bh >> 1) & 3;
      if (type === 3) throw new FormatError("zstd block of reserved type");
      this.next += 3 + (type === 1 ? 1 : bh >>> 3);
      if (bh & 1) {
        this.end = this.next + this.checksum;
        return;
      }
    }
  }
}

/**
 * Frames decompressed ahead, in order: each runs on libuv's thread pool, so while the consumer
 * handles one frame the next ones are already decoding (a zstd:chunked blob is thousands of
 * small frames; one at a time, every frame would wait a thread-pool round trip). Bounded in
 * count and in compressed bytes.
 */
const AHEAD_FRAMES = 8;
const AHEAD_BYTES = 8 << 20;

export async function* zstdDecompressStream(
  source: AsyncIterable<Uint8Array>,
  maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
  maxFrameOutput = DEFAULT_MAX_FRAME_OUTPUT,
): AsyncGenerator<Buffer> {
  const data = new Pending();
  let scanner = new FrameScanner();
  const ahead: Array<{ out: Promise<Buffer>; size: number }> = [];
  let aheadBytes = 0;
  const next = () => {
    const a = ahead.shift()!;
    aheadBytes -= a.size;
    return a.out;
  };
  try {
    for await (const piece of source) {
      data.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
      for (;;) {
        scanner.scan(data);
        if (scanner.end < 0) {
          if (data.length > maxFrameBytes) {
            throw new LimitExceededError(`zstd frame larger than ${maxFrameBytes} bytes`);
          }
          break;
        }
        if (scanner.end > maxFrameBytes) {
          throw new LimitExceededError(
            `zstd frame of ${scanner.end} bytes, limit ${maxFrameBytes}`,
          );
        }
        if (data.length < scanner.end) break;
        const frame = data.take(scanner.end);
        scanner = new FrameScanner();
        if (isSkippableMagic(frame.readUInt32LE(0))) continue;
        // Bounded: a small frame of compressed blocks can claim gigabytes (a bomb); at most
        // AHEAD_FRAMES outputs of maxFrameOutput each are held at once.
        const out = zstdDecompress(frame, maxFrameOutput);
        // Awaited in order below; this only keeps an abandoned one from being "unhandled".
        out.catch(() => {});
        ahead.push({ out, size: frame.length });
        aheadBytes += frame.length;
        while (ahead.length >= AHEAD_FRAMES || (ahead.length > 1 && aheadBytes > AHEAD_BYTES))
          yield await next();
      }
    }
    if (data.length > 0) {
      throw new FormatError(`zstd stream truncated: ${data.length} bytes of an unfinished frame`);
    }
    while (ahead.length > 0) yield await next();
  } finally {
    ahead.length = 0;
  }
}
