/**
 * Streaming decompression of a zstd stream of any length with the buffer-only native binding:
 * frames are cut at their boundaries (found by walking frame and block headers as bytes arrive,
 * without re-scanning) and handed to the binding whole, so memory is bounded by the largest
 * frame, not the stream. zstd:chunked blobs are made of thousands of small frames; a plain zstd
 * layer from a single-frame writer is bounded by `maxFrameBytes` (see docs/formats.md).
 *
 * Consecutive small frames go to the binding together, as one run of concatenated frames (which
 * it decodes like zstd(1) does, frame after frame): each call costs a thread-pool round trip and
 * a promise on the main thread, which for a zstd:chunked blob's 4,500 frames of a few KiB each
 * cost more main-thread time than the decoding itself. A run is closed at GROUP_BYTES of input or
 * when its frames' output bound (from their headers, as zstd.ts computes it) would pass
 * GROUP_OUTPUT, so the output held per call stays small; a frame that alone may exceed that goes
 * alone, checked against `maxFrameOutput` as before.
 */
import { FormatError, LimitExceededError } from "../errors.js";
import { isSkippableMagic, ZSTD_BLOCK_MAX, ZSTD_MAGIC, zstdDecompress } from "./zstd.js";

export const DEFAULT_MAX_FRAME_BYTES = 1 << 30;
/** The most one frame may decompress to (the binding holds a frame's whole output at once). */
export const DEFAULT_MAX_FRAME_OUTPUT = 1 << 30;

/** Compressed bytes per call to the binding (a run of frames); a larger frame goes alone. */
const GROUP_BYTES = 512 << 10;
/** The most output one run of frames may claim (by its headers). */
const GROUP_OUTPUT = 4 << 20;
const MIN_BUFFER = 4 << 20;
const SPARE_BUFFERS = 2;

/**
 * Bytes received but not yet handed out, contiguous, so headers are read in place and a run of
 * frames is one view. Bytes handed out are never written again while the binding may still read
 * them on another thread: when the buffer is full the rest moves to another one, and a buffer is
 * filled again only once every run cut from it was decoded (reusing a few buffers instead of
 * allocating a fresh one per MiB spares the page faults of touching new memory).
 */
class Pending {
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  /** Runs being decoded per buffer. */
  private readonly users = new Map<Buffer, number>();
  /** Buffers no run needs any more, ready to be filled again. */
  private readonly spare: Buffer[] = [];

  get length(): number {
    return this.end - this.start;
  }

  push(b: Uint8Array): void {
    if (this.end + b.length > this.buf.length) {
      const keep = this.end - this.start;
      const next = this.fresh(keep + b.length);
      this.buf.copy(next, 0, this.start, this.end);
      this.retire(this.buf);
      this.buf = next;
      this.start = 0;
      this.end = keep;
    }
    this.buf.set(b, this.end);
    this.end += b.length;
  }

  /** Byte `at` (relative to start); the caller checked `at < length`. */
  byte(at: number): number {
    return this.buf[this.start + at]!;
  }

  /** Drop the first `n` bytes (a skippable frame: nothing reads them). */
  skip(n: number): void {
    this.start += n;
  }

  /** The first `n` bytes as a view, consumed, for a reader that calls `done` when finished. */
  lend(n: number): { view: Buffer; done: () => void } {
    const buf = this.buf;
    const view = buf.subarray(this.start, this.start + n);
    this.start += n;
    this.users.set(buf, (this.users.get(buf) ?? 0) + 1);
    return {
      view,
      done: () => {
        const left = this.users.get(buf)! - 1;
        if (left > 0) this.users.set(buf, left);
        else {
          this.users.delete(buf);
          if (buf !== this.buf) this.retire(buf);
        }
      },
    };
  }

  private fresh(need: number): Buffer {
    const i = this.spare.findIndex((s) => s.length >= need);
    if (i >= 0) return this.spare.splice(i, 1)[0]!;
    return Buffer.allocUnsafe(Math.max(MIN_BUFFER, 2 * need));
  }

  /** `buf` is no longer filled: spare once no run needs it. */
  private retire(buf: Buffer): void {
    if (buf.length === 0 || this.users.has(buf)) return;
    if (this.spare.length < SPARE_BUFFERS) this.spare.push(buf);
  }
}

/** Walks one frame's headers incrementally from `base` bytes into the pending data. */
class FrameScanner {
  private next = -1; // offset of the next block header; -1 before the frame header was read
  private checksum = 0;
  /** Frame length once known, else -1. */
  end = -1;
  skippable = false;
  /** Upper bound of the frame's output (raw/RLE sizes, 128 KiB per compressed block). */
  bound = 0;
  /** The frame's declared content size, if its header has one. */
  private declared = -1;

  constructor(private base: number) {}

  /** The frame being scanned now starts at `base` (the bytes before it were taken). */
  moveTo(base: number): void {
    this.base = base;
  }

  /** Start over for the frame at `base`. */
  reset(base: number): void {
    this.base = base;
    this.next = -1;
    this.checksum = 0;
    this.end = -1;
    this.skippable = false;
    this.bound = 0;
    this.declared = -1;
  }

  private u32(data: Pending, at: number): number {
    const p = this.base + at;
    return (
      (data.byte(p) |
        (data.byte(p + 1) << 8) |
        (data.byte(p + 2) << 16) |
        (data.byte(p + 3) << 24)) >>>
      0
    );
  }

  /** Advance as far as the data allows. */
  scan(data: Pending): void {
    if (this.end >= 0) return;
    const have = data.length - this.base;
    if (this.next < 0) {
      if (have < 8) return;
      const magic = this.u32(data, 0);
      if (isSkippableMagic(magic)) {
        this.skippable = true;
        this.end = 8 + this.u32(data, 4);
        return;
      }
      if (magic !== ZSTD_MAGIC) {
        throw new FormatError(`not a zstd frame (magic 0x${magic.toString(16)})`);
      }
      const fhd = data.byte(this.base + 4);
      if ((fhd >> 3) & 1) throw new FormatError("zstd frame header has the reserved bit set");
      const singleSegment = (fhd >> 5) & 1;
      const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6]!;
      const fcsAt = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
      this.next = fcsAt + fcsSize;
      if (have < this.next + 3) {
        this.next = -1;
        return;
      }
      this.checksum = (fhd >> 2) & 1 ? 4 : 0;
      if (fcsSize === 1) this.declared = data.byte(this.base + fcsAt);
      else if (fcsSize === 2)
        this.declared =
          (data.byte(this.base + fcsAt) | (data.byte(this.base + fcsAt + 1) << 8)) + 256;
      else if (fcsSize === 4) this.declared = this.u32(data, fcsAt);
      else if (fcsSize === 8)
        this.declared = this.u32(data, fcsAt) + this.u32(data, fcsAt + 4) * 2 ** 32;
    }
    while (this.next + 3 <= have) {
      const p = this.base + this.next;
      const bh = data.byte(p) | (data.byte(p + 1) << 8) | (data.byte(p + 2) << 16);
      const type = (bh >> 1) & 3;
      if (type === 3) throw new FormatError("zstd block of reserved type");
      this.bound += type === 2 ? ZSTD_BLOCK_MAX : bh >>> 3;
      this.next += 3 + (type === 1 ? 1 : bh >>> 3);
      if (bh & 1) {
        this.end = this.next + this.checksum;
        if (this.declared >= 0) this.bound = Math.min(this.bound, this.declared);
        return;
      }
    }
  }
}

/**
 * Runs of frames decompressed ahead, in order: each runs on libuv's thread pool, so while the
 * consumer handles one run the next ones are already decoding. Bounded in count and in
 * compressed bytes.
 */
const AHEAD_RUNS = 4;
const AHEAD_BYTES = 8 << 20;

export async function* zstdDecompressStream(
  source: AsyncIterable<Uint8Array>,
  maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
  maxFrameOutput = DEFAULT_MAX_FRAME_OUTPUT,
): AsyncGenerator<Buffer> {
  const data = new Pending();
  const groupOutput = Math.min(GROUP_OUTPUT, maxFrameOutput);
  // The open run: its frames are the first `runBytes` pending bytes.
  let runBytes = 0;
  let runBound = 0;
  const scanner = new FrameScanner(0);
  const ahead: Array<{ out: Promise<Buffer>; size: number }> = [];
  let aheadBytes = 0;
  const next = () => {
    const a = ahead.shift()!;
    aheadBytes -= a.size;
    return a.out;
  };
  /** Hand the open run to the binding. */
  const closeRun = () => {
    if (runBytes === 0) return;
    const { view: run, done } = data.lend(runBytes);
    // A run of small frames claims at most groupOutput; a frame alone at most maxFrameOutput.
    // Bounded either way: a small frame of compressed blocks can claim gigabytes (a bomb), and
    // at most AHEAD_RUNS outputs are held at once.
    const out = zstdDecompress(run, runBound <= groupOutput ? groupOutput : maxFrameOutput);
    // Awaited in order below; this only keeps an abandoned one from being "unhandled".
    out.then(done, done);
    ahead.push({ out, size: run.length });
    aheadBytes += run.length;
    runBytes = 0;
    runBound = 0;
  };
  try {
    for await (const piece of source) {
      data.push(piece);
      for (;;) {
        scanner.scan(data);
        const end = scanner.end;
        if (end < 0) {
          if (data.length - runBytes > maxFrameBytes) {
            throw new LimitExceededError(`zstd frame larger than ${maxFrameBytes} bytes`);
          }
          break;
        }
        if (end > maxFrameBytes) {
          throw new LimitExceededError(`zstd frame of ${end} bytes, limit ${maxFrameBytes}`);
        }
        if (data.length - runBytes < end) break;
        if (scanner.skippable) {
          closeRun();
          data.skip(end);
          scanner.reset(0);
          continue;
        }
        const bound = scanner.bound;
        if (runBytes > 0 && (runBytes + end > GROUP_BYTES || runBound + bound > groupOutput)) {
          closeRun(); // this frame starts the next run
          scanner.moveTo(0);
        }
        runBytes += end;
        runBound += bound;
        if (runBytes >= GROUP_BYTES || runBound > groupOutput) closeRun();
        scanner.reset(runBytes);
        while (ahead.length >= AHEAD_RUNS || (ahead.length > 1 && aheadBytes > AHEAD_BYTES))
          yield await next();
      }
    }
    if (data.length > runBytes) {
      throw new FormatError(
        `zstd stream truncated: ${data.length - runBytes} bytes of an unfinished frame`,
      );
    }
    closeRun();
    while (ahead.length > 0) yield await next();
  } finally {
    ahead.length = 0;
  }
}
