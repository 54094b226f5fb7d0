/**
 * Records a file's content-defined chunks (the same boundaries and digests a zstd:chunked TOC
 * would list, through the writer's own chunker) while its bytes pass by, so files that arrive in
 * a full pull are indexed chunk by chunk and partial pulls of chunked images reuse them.
 */
import { createHasher } from "../digest.js";
import type { ChunkRef, FileRef } from "../formats/layer-index.js";
import { type ChunkEvent, FileChunker } from "../formats/zstdchunked/chunker.js";
import { cleanAbsPath } from "../formats/zstdchunked/path.js";

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

/**
 * The chunks a layer's TOC (zstd:chunked, eStargz) lists for its files, found by a tar entry's
 * name and size: a cold pull of such a layer takes each file's chunk boundaries and digests from
 * there instead of running the chunker over every byte, and so records exactly the chunks the
 * next version's TOC will ask for. A file the TOC does not describe (or describes in a way that
 * does not tile the file) goes through the chunker instead.
 *
 * The TOC's chunk digests are not re-checked against the bytes here: a chunk pointer is only a
 * hint, and findChunk re-hashes the chunk's bytes every time one is used. A TOC that lies about
 * a chunk therefore costs a miss (and a fetch) later, never a wrong byte.
 */
export class TocChunks {
  private readonly byName = new Map<string, FileRef>();

  constructor(files: readonly FileRef[]) {
    for (const f of files) this.byName.set(cleanAbsPath(f.name), f);
  }

  /** The file's chunks (pointer fields only), or undefined when the TOC cannot say. */
  chunksOf(name: string, size: number): ChunkRef[] | undefined {
    const f = this.byName.get(cleanAbsPath(name));
    if (!f || f.size !== size || f.chunks.length === 0) return undefined;
    const out: ChunkRef[] = [];
    let at = 0;
    for (const c of f.chunks) {
      if (c.fileOffset !== at || c.size <= 0) return undefined;
      out.push({
        offset: 0,
        end: 0,
        fileOffset: at,
        size: c.size,
        digest: c.digest,
        zeros: c.zeros,
      });
      at += c.size;
    }
    return at === size ? out : undefined;
  }
}
