/**
 * The writer's output side: a byte-counting, hashing blob sink and a zstd "frame writer" with
 * c/storage's restart primitive (spec §1.2). @mongodb-js/zstd only compresses whole buffers, so
 * a frame's input is collected and compressed at restart; to bound memory, input beyond
 * MAX_FRAME_INPUT is cut into a sequence of frames (allowed: a chunk may be several frames).
 */
import { createHasher, type Digest } from "../../digest.js";
import { zstdCompress } from "../zstd.js";

export const MAX_FRAME_INPUT = 8 * 1024 * 1024;

export class BlobSink {
  count = 0;
  private readonly hasher = createHasher();
  constructor(private readonly out: (chunk: Buffer) => Promise<void> | void) {}

  async write(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    this.hasher.update(data);
    this.count += data.length;
    await this.out(data);
  }

  digest(): Digest {
    return this.hasher.digest();
  }
}

/** Frames compressed ahead of the blob output (each holds at most MAX_FRAME_INPUT bytes). */
const FRAMES_IN_FLIGHT = 4;

/**
 * Frames are compressed on the libuv pool while the caller goes on chunking and hashing, and
 * written to the sink in order. Because a frame's blob offset is known only once the frames
 * before it are compressed, `restart` returns a boundary index; `offsetOf` turns it into a blob
 * offset after `drain`.
 */
export class FrameWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** sha256 of every byte compressed so far = what the blob decompresses to (the diff_id). */
  private readonly contentHasher = createHasher();
  contentBytes = 0;
  /** ends[k] = blob offset just past frame k. */
  private readonly ends: number[] = [];
  private framesStarted = 0;
  private tail: Promise<void> = Promise.resolve();
  private readonly inflight: Promise<void>[] = [];

  constructor(
    private readonly sink: BlobSink,
    private readonly level: number,
  ) {}

  /** Append to the current frame (starting a new frame every MAX_FRAME_INPUT bytes). */
  async write(data: Buffer): Promise<void> {
    let rest = data;
    while (rest.length > 0) {
      const take = Math.min(rest.length, MAX_FRAME_INPUT - this.pendingBytes);
      this.pending.push(rest.subarray(0, take));
      this.pendingBytes += take;
      rest = rest.subarray(take);
      if (this.pendingBytes === MAX_FRAME_INPUT) await this.flush();
    }
  }

  /**
   * Close the current frame (if it holds anything: no empty frames). Returns the boundary index
   * (frames so far): the blob offset where the next frame will start is `offsetOf(index)`.
   */
  async restart(): Promise<number> {
    await this.flush();
    return this.framesStarted;
  }

  /** Blob offset of boundary `index`; valid once `drain` has resolved. */
  offsetOf(index: number): number {
    if (index === 0) return 0;
    const end = this.ends[index - 1];
    if (end === undefined) throw new Error(`FrameWriter: frame ${index - 1} not written yet`);
    return end;
  }

  /** Wait until every frame is compressed and written. */
  async drain(): Promise<void> {
    await this.tail;
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const input = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.contentHasher.update(input);
    this.contentBytes += input.length;
    const compressed = zstdCompress(input, this.level);
    compressed.catch(() => {}); // surfaced through the write chain below
    const written = this.tail.then(async () => {
      await this.sink.write(await compressed);
      this.ends.push(this.sink.count);
    });
    this.tail = written;
    this.framesStarted++;
    this.inflight.push(written);
    if (this.inflight.length > FRAMES_IN_FLIGHT) await this.inflight.shift();
  }

  contentDigest(): Digest {
    return this.contentHasher.digest();
  }
}

/**
 * A zstd stream built from text appended over time (the tar-split), kept compressed in memory:
 * one frame per MAX_FRAME_INPUT bytes of input. Readers decode concatenated frames as one stream.
 */
export class CompressedText {
  private parts: Buffer[] = [];
  private pending: string[] = [];
  private pendingBytes = 0;
  uncompressedBytes = 0;

  constructor(private readonly level: number) {}

  async append(text: string): Promise<void> {
    if (text === "") return;
    this.pending.push(text);
    const n = Buffer.byteLength(text);
    this.pendingBytes += n;
    this.uncompressedBytes += n;
    if (this.pendingBytes >= MAX_FRAME_INPUT) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const input = Buffer.from(this.pending.join(""));
    this.pending = [];
    this.pendingBytes = 0;
    this.parts.push(await zstdCompress(input, this.level));
  }

  async finish(): Promise<Buffer> {
    await this.flush();
    if (this.parts.length === 0) this.parts.push(await zstdCompress(Buffer.alloc(0), this.level));
    return Buffer.concat(this.parts);
  }
}
