/**
 * The content-addressed store shared by all images: file objects, chunk pointers and layer
 * records in one directory, with the filesystem as the only index (docs/store.md).
 */
import { link, lstat, mkdir, open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { algorithmOf, type Digest, parseDigest } from "../digest.js";
import { DigestMismatchError, FormatError, UnsupportedError, UsageError } from "../errors.js";
import type { FileRef } from "../formats/layer-index.js";
import { commitTemp, discardTemp, tempName, writeTemp } from "./atomic.js";
import { exists, findChunk, putPointer, readPointer } from "./chunks.js";
import { collectGarbage, walkFanOut } from "./gc.js";
import { type Bytes, getLayer, listLayers, putLayer, removeLayer } from "./layers.js";
import { defaultStoreDir, STORE_VERSION, StoreLayout } from "./layout.js";
import { acquirePull, DEFAULT_TIMINGS, type LockTimings, livePullMarkers } from "./locks.js";
import { type BarrierKind, StagedObjects } from "./staged.js";
import type {
  ChunkPointer,
  GcResult,
  LayerRecord,
  LayerRecordInput,
  StoredLayer,
  StoreStats,
} from "./types.js";

export interface StoreOptions {
  /** Lock staleness and waiting (mostly for tests). */
  timings?: Partial<LockTimings>;
}

/** Handle of a registered pull; `end()` must be called when the pull is over (also on failure). */
export interface PullHandle {
  end(): Promise<void>;
}

/** Pull markers this process holds, per store root (nested pulls must not wait for gc). */
const pullsHeld = new Map<string, number>();

/** Pointer writes in flight per indexFile call: enough to hide per-file syscall latency. */
const INDEX_CONCURRENCY = 16;

export async function openStore(dir?: string, options: StoreOptions = {}): Promise<Store> {
  const layout = new StoreLayout(resolve(dir ?? defaultStoreDir()));
  for (const d of [
    layout.objectsDir,
    layout.chunksDir,
    layout.layersDir,
    layout.tmpDir,
    layout.pullsDir,
  ]) {
    await mkdir(d, { recursive: true });
  }
  // Created by link(2) from a complete temp file, so a racing opener never reads it half-written.
  const tmp = tempName(layout.tmpDir);
  await writeFile(tmp, `${STORE_VERSION}\n`, { flag: "wx" });
  await link(tmp, layout.versionFile)
    .catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    })
    .finally(() => discardTemp(tmp));
  const version = (await readFile(layout.versionFile, "utf8")).trim();
  if (version !== STORE_VERSION) {
    throw new UnsupportedError(
      `store ${layout.root} has version ${JSON.stringify(version)}, expected ${STORE_VERSION}`,
    );
  }
  return new Store(layout, { ...DEFAULT_TIMINGS, ...options.timings });
}

export class Store {
  constructor(
    readonly layout: StoreLayout,
    private readonly timings: LockTimings,
  ) {}

  get root(): string {
    return this.layout.root;
  }

  objectPath(d: Digest): string {
    return this.layout.object(parseDigest(d, "object digest"));
  }

  async hasObject(d: Digest): Promise<boolean> {
    const st = await stat(this.objectPath(d)).catch(() => undefined);
    return st?.isFile() ?? false;
  }

  /** A read stream over a stored object; UsageError when it is not in the store. */
  async openObject(d: Digest): Promise<Readable> {
    const fh = await open(this.objectPath(d), "r").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw new UsageError(`object ${d} is not in the store`);
      throw err;
    });
    return fh.createReadStream();
  }

  /** Exactly `length` bytes at `offset` of an object; FormatError if the object is shorter. */
  async readRange(d: Digest, offset: number, length: number): Promise<Buffer> {
    const fh = await open(this.objectPath(d), "r").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw new UsageError(`object ${d} is not in the store`);
      throw err;
    });
    try {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) {
          throw new FormatError(
            `object ${d}: wanted ${length} bytes at offset ${offset}, only ${got} available`,
          );
        }
        got += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  /**
   * Store content: streamed to a temp file, hashed, fsync'd, verified against `expected` (when
   * given; hashed with its algorithm), then renamed into place. Nothing is kept on failure.
   */
  async writeObject(
    source: AsyncIterable<Uint8Array> | Uint8Array,
    expected?: Digest,
  ): Promise<{ digest: Digest; size: number }> {
    const algorithm = expected ? algorithmOf(parseDigest(expected, "expected digest")) : "sha256";
    const temp = await writeTemp(this.layout.tmpDir, source, {
      algorithm,
      fsync: true,
      mode: 0o444,
    });
    try {
      if (expected && temp.digest !== expected) {
        throw new DigestMismatchError("object written to the store", expected, temp.digest);
      }
      await commitTemp(temp.path, this.layout.object(temp.digest));
    } finally {
      await discardTemp(temp.path);
    }
    return { digest: temp.digest, size: temp.size };
  }

  /**
   * A batch of object writes with one durability barrier at `commit` instead of an fsync per
   * object (cold and full pulls; see staged.ts). Hold a pull marker while it is in use.
   */
  stageObjects(barrier?: BarrierKind): StagedObjects {
    return new StagedObjects(this.layout, barrier);
  }

  /** Whether the store holds no object at all (then existence probes are pointless). */
  async hasNoObjects(): Promise<boolean> {
    return (await readdir(this.layout.objectsDir)).length === 0;
  }

  /** Record where a chunk lives. Returns false when a pointer for that digest already exists. */
  async putChunkPointer(chunk: Digest, pointer: ChunkPointer): Promise<boolean> {
    return putPointer(this.layout, chunk, pointer);
  }

  async getChunkPointer(chunk: Digest): Promise<ChunkPointer | undefined> {
    return readPointer(this.layout, parseDigest(chunk, "chunk digest"));
  }

  /** Cheap presence test for planning (no verification: findChunk verifies on use). */
  async hasChunk(chunk: Digest): Promise<boolean> {
    const d = parseDigest(chunk, "chunk digest");
    return (await exists(this.layout.chunk(d))) || (await exists(this.layout.object(d)));
  }

  /** The chunk's verified bytes, or undefined (a failing pointer is removed). */
  async findChunk(chunk: Digest): Promise<Buffer | undefined> {
    return findChunk(this.layout, chunk, (o, off, len) => this.readRange(o, off, len));
  }

  /**
   * Write pointers for every digest-carrying, non-zero chunk of `file`, stored as object
   * `objectDigest`. Chunks equal to the whole object need none (findChunk falls back to it).
   * Returns how many pointers were newly written.
   */
  async indexFile(file: FileRef, objectDigest: Digest): Promise<number> {
    const work = file.chunks.filter((c) => !c.zeros && c.digest && c.digest !== objectDigest);
    let written = 0;
    let next = 0;
    const worker = async () => {
      while (next < work.length) {
        const c = work[next++]!;
        const pointer = { object: objectDigest, offset: c.fileOffset, length: c.size };
        if (await this.putChunkPointer(c.digest!, pointer)) written++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(INDEX_CONCURRENCY, work.length) }, worker));
    return written;
  }

  async putLayer(record: LayerRecordInput, toc: Bytes, tarSplit: Bytes): Promise<LayerRecord> {
    return putLayer(this.layout, record, toc, tarSplit);
  }

  async getLayer(diffId: Digest): Promise<StoredLayer | undefined> {
    return getLayer(this.layout, diffId);
  }

  async listLayers(): Promise<LayerRecord[]> {
    return listLayers(this.layout);
  }

  async removeLayer(diffId: Digest): Promise<boolean> {
    return removeLayer(this.layout, diffId);
  }

  /** Register a pull (waits while gc runs). Every writer must hold one while it writes. */
  async beginPull(): Promise<PullHandle> {
    const root = this.layout.root;
    const holding = (pullsHeld.get(root) ?? 0) > 0;
    const held = await acquirePull(this.layout.pullsDir, this.layout.gcLock, this.timings, holding);
    pullsHeld.set(root, (pullsHeld.get(root) ?? 0) + 1);
    let ended = false;
    return {
      end: async () => {
        if (ended) return;
        ended = true;
        pullsHeld.set(root, pullsHeld.get(root)! - 1);
        await held.release();
      },
    };
  }

  /** Remove what no layer record references; waits for active pulls (see docs/store.md). */
  async gc(options: { waitMs?: number } = {}): Promise<GcResult> {
    return collectGarbage(this.layout, { ...this.timings, ...options });
  }

  async stats(): Promise<StoreStats> {
    let objects = 0;
    let objectBytes = 0;
    for await (const { path } of walkFanOut(this.layout.objectsDir)) {
      objects++;
      objectBytes += (await stat(path).catch(() => undefined))?.size ?? 0;
    }
    let chunkPointers = 0;
    for await (const _ of walkFanOut(this.layout.chunksDir)) chunkPointers++;
    return {
      objects,
      objectBytes,
      chunkPointers,
      layers: (await this.listLayers()).length,
      tempFiles: (await readdir(this.layout.tmpDir)).length,
      activePulls: (await livePullMarkers(this.layout.pullsDir, this.timings)).length,
      diskBytes: await diskUsage(this.layout.root),
    };
  }
}

/** Allocated bytes of a directory tree (like `du -s`). */
async function diskUsage(root: string): Promise<number> {
  let total = 0;
  const entries = await readdir(root, { recursive: true });
  for (const rel of entries) {
    const st = await lstat(join(root, rel)).catch(() => undefined);
    if (st) total += st.blocks * 512;
  }
  return total;
}
