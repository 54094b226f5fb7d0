/**
 * Pull-based reading of an async chunk stream with exact-length reads, without copying
 * chunks that are consumed whole or in pieces (only reads that span chunks concatenate).
 */
export class ByteQueue {
  private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  private chunks: Array<Buffer | undefined> = [];
  private head = 0;
  private headOffset = 0;
  private done = false;
  /** Bytes buffered and not yet consumed. */
  buffered = 0;
  /** Absolute offset of the next unconsumed byte in the stream. */
  position = 0;

  /** Sync iterables (an array of chunks) are accepted too, which keeps tests and callers simple. */
  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.it =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source as Iterable<Uint8Array>)[Symbol.iterator]();
  }

  /** Pull one more non-empty chunk; false at end of input. */
  private async pull(): Promise<boolean> {
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      const v = r.value;
      if (v.length === 0) continue;
      const b = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.length);
      if (this.head > 64 && this.head * 2 > this.chunks.length) {
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
      this.chunks.push(b);
      this.buffered += b.length;
      return true;
    }
    return false;
  }

  /** Buffer at least `n` bytes if the input has them; returns whether it does. */
  async fill(n: number): Promise<boolean> {
    while (this.buffered < n) if (!(await this.pull())) return false;
    return true;
  }

  /** Consume min(n, buffered) bytes; a view when they lie in one chunk. */
  take(n: number): Buffer {
    const want = Math.min(n, this.buffered);
    const first = this.chunks[this.head];
    if (want === 0 || first === undefined) return Buffer.alloc(0);
    if (first.length - this.headOffset >= want) return this.takeFromHead(want);
    const out = Buffer.allocUnsafe(want);
    let filled = 0;
    while (filled < want) {
      const part = this.takeFromHead(want - filled);
      part.copy(out, filled);
      filled += part.length;
    }
    return out;
  }

  /** Consume up to `max` bytes from the first buffered chunk only (never copies). */
  takeSome(max: number): Buffer {
    return this.takeFromHead(max);
  }

  private takeFromHead(max: number): Buffer {
    const chunk = this.chunks[this.head];
    if (chunk === undefined) return Buffer.alloc(0);
    const n = Math.min(max, chunk.length - this.headOffset);
    const out = chunk.subarray(this.headOffset, this.headOffset + n);
    this.headOffset += n;
    if (this.headOffset === chunk.length) {
      this.chunks[this.head] = undefined;
      this.head++;
      this.headOffset = 0;
    }
    this.buffered -= n;
    this.position += n;
    return out;
  }

  /** Ensure something is buffered; false at end of input. */
  async ensureSome(): Promise<boolean> {
    return this.buffered > 0 || (await this.pull());
  }

  /** Stop reading the source early (lets it release resources). */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }
}
