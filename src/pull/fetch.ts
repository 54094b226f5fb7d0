/**
 * The fetch stage as a ContentSource: a store-first source of file content for the rebuild
 * strategies. A file the store holds is read from the store; a file it lacks is assembled from
 * its chunks in plan order (store chunks, zeros, chunks decoded from the planned ranges, read
 * ahead in byte-bounded batches) and written into the store while the rebuild consumes the same
 * bytes: one pass, no object read back. The store checks every file against its TOC digest
 * before it keeps it.
 */
import { once } from "node:events";
import { PassThrough } from "node:stream";
import type { Digest } from "../digest.js";
import { ChunkpullError, FormatError, NotInStoreError } from "../errors.js";
import { type ContentSource, DECODE_AHEAD_BYTES, zeroPieces } from "../formats/content-source.js";
import type { ChunkedLayer, ChunkRef, FileRef, RangeSource } from "../formats/layer-index.js";
import { orderedWithin } from "../formats/ordered-map.js";
import { type ReadAheadOptions, readBatches } from "../formats/read-ahead.js";
import type { ObjectReadAhead } from "../store/object-read-ahead.js";
import type { Store } from "../store/store.js";
import { batchRanges } from "./batches.js";
import { inContext } from "./errors.js";
import type { StoreHits } from "./lookup.js";
import { ObjectWriter, SMALL_FILE } from "./object-writer.js";
import { type ChunkLocation, type FilePlan, lookupDigest, type Plan } from "./plan.js";

export interface FetchOptions {
  reading: ReadAheadOptions;
  /** Longest single range; longer planned ranges are cut at chunk boundaries (batches.ts). */
  maxRangeBytes: number;
  /** Most ranges per request (batches.ts ramps up to it). */
  maxRangesPerRequest?: number;
  /** Compressed bytes of each batch of ranges, once it has arrived. */
  onBytes?: (bytes: number) => void;
  /**
   * The rebuilt tar is hashed against the diff_id: files the store held are then read without
   * hashing each on its own (that digest proves them all). The caller must run the layer again
   * with this off when the diff_id fails, so a damaged object is found, removed and fetched.
   */
  diffIdFollows?: boolean;
}

interface DecodedChunk extends ChunkLocation {
  data: Buffer;
}

const key = (l: ChunkLocation) => `${l.fileIndex}:${l.chunkIndex}`;

export class StoreFirstContent implements ContentSource {
  readonly blob: RangeSource;
  readonly reading: ReadAheadOptions;
  private readonly indexOf: Map<FileRef, number>;
  private readonly remote: AsyncGenerator<DecodedChunk>;
  private readonly writer: ObjectWriter;
  /** Remote chunks reused later in the layer (duplicates), and the bytes kept for them. */
  private readonly pending: Map<string, number>;
  private readonly kept = new Map<string, Buffer>();
  /** plan.files before this index have been written (or were never needed). */
  private cursor = 0;
  /** The small files the store holds, read ahead in plan order; their index in that order. */
  private readonly ahead: ObjectReadAhead | undefined;
  private readonly aheadIndex = new Map<FileRef, number>();
  private readonly verifyHeld: boolean;

  constructor(
    private readonly layer: ChunkedLayer,
    private readonly plan: Plan | undefined,
    private readonly hits: StoreHits,
    blob: RangeSource,
    private readonly store: Store,
    opts: FetchOptions,
  ) {
    this.blob = blob;
    this.reading = opts.reading;
    this.verifyHeld = !opts.diffIdFollows;
    this.indexOf = new Map(layer.files.map((f, i) => [f, i]));
    // Staged: the fetched files become durable together (one barrier in finish), not by an
    // fsync each, which left the rebuild waiting on the disk.
    this.writer = new ObjectWriter(store, { staged: true });
    this.pending = plan ? duplicateReferences(plan) : new Map();
    this.remote = plan ? this.decodedChunks(plan, opts) : emptyChunks();
    const held = (plan?.files ?? []).filter(
      (fp) => fp.source === "store" && fp.file.size > 0 && fp.file.size <= store.wholeReadMax,
    );
    for (const [n, fp] of held.entries()) this.aheadIndex.set(fp.file, n);
    this.ahead = held.length > 0 ? store.readAhead(held.map((fp) => fp.file)) : undefined;
  }

  holds(file: FileRef, chunk: ChunkRef): boolean {
    if (this.hits.haveFile.has(file.digest)) return true;
    const d = lookupDigest(file, chunk);
    return d !== undefined && this.hits.haveChunk.has(d);
  }

  async heldChunk(file: FileRef, chunk: ChunkRef): Promise<Buffer> {
    const d = lookupDigest(file, chunk);
    const data = d && this.hits.haveChunk.has(d) ? await this.store.findChunk(d) : undefined;
    if (data && data.length === chunk.size) return data;
    // The whole file is in the store: these bytes are proven again by the diff_id.
    return this.store.readRange(file.digest, chunk.fileOffset, chunk.size);
  }

  async file(file: FileRef): Promise<AsyncIterable<Buffer> | Iterable<Buffer>> {
    const i = this.indexOf.get(file);
    const fp = i === undefined ? undefined : this.plan?.files[i];
    if (i === undefined || fp === undefined || fp.source !== "chunks" || i < this.cursor) {
      // A duplicate of an earlier file, or written by this pull: its object must be committed
      // (staged writes become visible at the barrier) before it is read back. A file that was
      // in the store before the pull is read at once.
      if (fp?.source === "duplicate") await this.writeUpTo(fp.duplicateOf! + 1);
      if (fp?.source === "duplicate" || fp?.source === "chunks") await this.writer.drain();
      const n = this.aheadIndex.get(file);
      if (this.ahead && n !== undefined) return this.ahead.take(n, this.verifyHeld);
      return this.store.openObject(file.digest, file.size, { verify: this.verifyHeld });
    }
    await this.writeUpTo(i);
    this.cursor = i + 1;
    return this.stored(fp, this.fileBytes(fp, i));
  }

  /** Writes every planned file not requested yet (the TOC policy, or files no strategy asked for). */
  async finish(): Promise<void> {
    if (this.plan) await this.writeUpTo(this.plan.files.length);
    const extra = await this.remote.next();
    if (!extra.done) throw new FormatError("fetched chunks left over after every file was written");
    await this.writer.drain();
  }

  /** Stops the reads ahead and waits for the background writes (after a failure). */
  async close(): Promise<void> {
    await this.remote.return(undefined).catch(() => {});
    await this.writer.drain().catch(() => {});
  }

  get filesWritten(): number {
    return this.writer.written;
  }

  private async writeUpTo(end: number): Promise<void> {
    const files = this.plan?.files ?? [];
    for (; this.cursor < Math.min(end, files.length); this.cursor++) {
      const fp = files[this.cursor]!;
      if (fp.source !== "chunks") continue;
      for await (const _ of this.stored(fp, this.fileBytes(fp, this.cursor))) {
        // written to the store only: nobody asked for this file's bytes yet
      }
    }
  }

  /** The file's bytes as they go into the store: small files whole (written in the background). */
  private async *stored(fp: FilePlan, bytes: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const index = (digest: Digest) => this.store.indexFile(fp.file, digest);
    if (fp.file.size <= SMALL_FILE) {
      const parts: Buffer[] = [];
      for await (const b of bytes) parts.push(b);
      const data = Buffer.concat(parts, fp.file.size);
      await this.writer.add(data, index, fp.file.digest);
      yield data;
      return;
    }
    // A large file streams into the store and to the consumer at once (back-pressure from both).
    const pipe = new PassThrough({ highWaterMark: 1 << 20 });
    const written = this.writer.write(pipe, index, fp.file.digest);
    written.catch(() => {});
    let ok = false;
    try {
      for await (const b of bytes) {
        if (!pipe.write(b)) await Promise.race([once(pipe, "drain"), written]);
        yield b;
      }
      pipe.end();
      await written;
      ok = true;
    } finally {
      if (!ok) {
        pipe.destroy();
        await written.catch(() => {});
      }
    }
  }

  private async *fileBytes(fp: FilePlan, fileIndex: number): AsyncGenerator<Buffer> {
    for (const [chunkIndex, cp] of fp.chunks.entries()) {
      const where = `${fp.file.name} chunk ${chunkIndex}`;
      switch (cp.source) {
        case "zeros":
          yield* zeroPieces(cp.chunk.size);
          break;
        case "store": {
          const data = cp.digest ? await this.store.findChunk(cp.digest) : undefined;
          if (!data || data.length !== cp.chunk.size) {
            throw new NotInStoreError(`${where}: the store no longer holds chunk ${cp.digest}`);
          }
          yield data;
          break;
        }
        case "remote": {
          const next = await this.remote.next();
          if (
            next.done ||
            next.value.fileIndex !== fileIndex ||
            next.value.chunkIndex !== chunkIndex
          ) {
            throw new FormatError(`${where}: fetched chunks arrived out of plan order`);
          }
          const k = key(next.value);
          if (this.pending.has(k)) this.kept.set(k, next.value.data);
          yield next.value.data;
          break;
        }
        case "duplicate": {
          const k = key(cp.duplicateOf!);
          const data = this.kept.get(k);
          if (!data) throw new FormatError(`${where}: duplicate of a chunk that was not fetched`);
          const left = (this.pending.get(k) ?? 1) - 1;
          if (left <= 0) {
            this.pending.delete(k);
            this.kept.delete(k);
          } else this.pending.set(k, left);
          yield data;
          break;
        }
      }
    }
  }

  /** Every remote chunk, decoded and verified, in plan (= blob) order; batches read ahead. */
  private async *decodedChunks(plan: Plan, opts: FetchOptions): AsyncGenerator<DecodedChunk> {
    const batches = batchRanges(
      plan.ranges,
      opts.reading.batchBytes,
      opts.maxRangeBytes,
      opts.maxRangesPerRequest,
    );
    for await (const { batch, buffers } of readBatches(this.blob, batches, this.reading)) {
      opts.onBytes?.(batch.reduce((n, r) => n + r.length, 0));
      const items = batch.flatMap((range, r) =>
        range.chunks.map((rc) => ({ range, rc, buf: buffers[r]! })),
      );
      yield* orderedWithin(
        items,
        (it) => it.rc.chunk.size,
        async ({ range, rc, buf }) => {
          const from = rc.chunk.offset - range.offset;
          const to = rc.chunk.end - range.offset;
          if (from < 0 || to > buf.length) {
            throw new FormatError(`chunk [${rc.chunk.offset}, ${rc.chunk.end}) outside its range`);
          }
          try {
            const data = await this.layer.decodeChunk(buf.subarray(from, to), rc.chunk);
            return { fileIndex: rc.fileIndex, chunkIndex: rc.chunkIndex, data };
          } catch (err) {
            // Name the file: "chunk [a, b)" alone does not tell a user what was damaged.
            if (!(err instanceof ChunkpullError)) throw err;
            throw inContext(err, `${JSON.stringify(rc.file.name)} chunk ${rc.chunkIndex}`);
          }
        },
        DECODE_AHEAD_BYTES,
      );
    }
  }
}

async function* emptyChunks(): AsyncGenerator<DecodedChunk> {}

/** How many later chunks reuse each remote chunk's bytes (duplicates within the layer). */
function duplicateReferences(plan: Plan): Map<string, number> {
  const refs = new Map<string, number>();
  for (const fp of plan.files) {
    for (const cp of fp.chunks) {
      if (cp.source === "duplicate" && cp.duplicateOf) {
        const k = key(cp.duplicateOf);
        refs.set(k, (refs.get(k) ?? 0) + 1);
      }
    }
  }
  return refs;
}
