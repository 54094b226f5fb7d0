/**
 * Copies a stream of bytes that starts at a known blob offset into the buffers of the requested
 * ranges it covers. Used for a single-part 206, each multipart part, and a 200 whole body.
 * A target may arrive partly filled (a resumed range): bytes before `offset + filled` are
 * skipped, and what the stream adds stays in the target when the stream breaks.
 */
import type { ByteRange } from "../formats/layer-index.js";

export interface Target {
  index: number;
  range: ByteRange;
  buf: Buffer;
  filled: number;
}

export class RangeCollector {
  private pos: number;
  private next = 0;
  private readonly targets: Target[];

  /**
   * `ranges` must be sorted by offset and lie within [start, ...). A given Target is written in
   * place (the caller keeps its progress); a bare range gets a fresh buffer.
   */
  constructor(start: number, ranges: Array<{ index: number; range: ByteRange } | Target>) {
    this.pos = start;
    this.targets = ranges.map((r) =>
      "buf" in r
        ? r
        : { index: r.index, range: r.range, buf: Buffer.allocUnsafe(r.range.length), filled: 0 },
    );
  }

  get position(): number {
    return this.pos;
  }

  /** All targets complete: the rest of the stream is not needed. */
  get complete(): boolean {
    return this.next >= this.targets.length;
  }

  /** Feed the next bytes; returns the targets completed by them. */
  write(chunk: Buffer): Target[] {
    const done: Target[] = [];
    const chunkStart = this.pos;
    const chunkEnd = chunkStart + chunk.length;
    for (let t = this.next; t < this.targets.length; t++) {
      const target = this.targets[t]!;
      const from = target.range.offset + target.filled;
      const to = target.range.offset + target.range.length;
      if (from >= chunkEnd) break;
      if (to <= chunkStart) continue;
      const copyFrom = Math.max(from, chunkStart);
      const copyTo = Math.min(to, chunkEnd);
      if (copyFrom > from) continue; // a gap inside a target cannot happen for a contiguous stream
      chunk.copy(target.buf, target.filled, copyFrom - chunkStart, copyTo - chunkStart);
      target.filled += copyTo - copyFrom;
      if (target.filled === target.range.length) {
        done.push(target);
        if (t === this.next) this.next++;
      }
    }
    while (
      this.next < this.targets.length &&
      this.targets[this.next]!.filled === this.targets[this.next]!.range.length
    )
      this.next++;
    this.pos = chunkEnd;
    return done;
  }
}
