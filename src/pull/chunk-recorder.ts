/**
 * Records a file's content-defined chunks (the same boundaries and digests a zstd:chunked TOC
 * would list, through the writer's own chunker) while its bytes pass by, so files that arrive in
 * a full pull are indexed chunk by chunk and partial pulls of chunked images reuse them.
 */
import { createHasher } from "../digest.js";
import type { ChunkRef } from "../formats/layer-index.js";
import { type ChunkEvent, FileChunker } from "../formats/zstdchunked/chunker.js";

export class ChunkRecorder {
  readonly chunks: ChunkRef[] = [];
  private readonly chunker = new FileChunker();
  private hasher = createHasher();
  private chunkStart = 0;
  private pos = 0;

  push(data: Buffer): void {
    this.handle(this.chunker.push(data));
  }

  finish(): ChunkRef[] {
    this.handle(this.chunker.finish());
    return this.chunks;
  }

  private handle(events: ChunkEvent[]): void {
    for (const e of events) {
      if (e.type === "data") {
        this.hasher.update(e.data);
        this.pos += e.data.length;
      } else if (e.type === "cut") {
        if (this.pos > this.chunkStart) {
          const size = this.pos - this.chunkStart;
          const digest = this.hasher.digest();
          this.chunks.push({
            offset: 0,
            end: 0,
            fileOffset: this.chunkStart,
            size,
            digest,
            zeros: false,
          });
        }
        this.hasher = createHasher();
        this.chunkStart = this.pos;
      } else {
        this.chunks.push({ offset: 0, end: 0, fileOffset: this.pos, size: e.length, zeros: true });
        this.pos += e.length;
        this.chunkStart = this.pos;
      }
    }
  }
}

/** Pass bytes through, recording their chunks into `recorder` (finished at the end). */
export async function* recordChunks(
  source: AsyncIterable<Buffer>,
  recorder: ChunkRecorder,
): AsyncGenerator<Buffer> {
  for await (const b of source) {
    recorder.push(b);
    yield b;
  }
  recorder.finish();
}
