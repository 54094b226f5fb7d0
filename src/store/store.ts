/**
 * The content-addressed store shared by all images: file objects, chunk pointers, layer records
 * and image references in one directory, with the filesystem as the only index (docs/store.md).
 * Everything read back is checked before it is trusted: a damaged or vanished object or pointer
 * is a miss (removed when the store is writable), never a wrong byte.
 */
import { constants } from "node:fs";
import { link, lstat, mkdir, open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { type Digest, parseDigest } from "../digest.js";
import {
  DigestMismatchError,
  FormatError,
  NotInStoreError,
  StoreAccessError,
  UnsupportedError,
} from "../errors.js";
import type { FileRef } from "../formats/layer-index.js";
import { commitTemp, discardTemp, fsyncFile, tempName, writeTemp } from "./atomic.js";
import { chunkAvailable, findChunk, putPointer, readPointer } from "./chunks.js";
import { encodeFilesIndex, type IndexedFile } from "./files-index.js";
import { collectGarbage, walkFanOut } from "./gc.js";
import { type ImageRecord, listImages, putImage, removeImage } from "./images.js";
import { storeIo, storeIoError } from "./io-errors.js";
import { storedLayerTar } from "./layer-tar.js";
import { type Bytes, getLayer, listLayers, putLayer, removeLayer, walkLayers } from "./layers.js";
import { defaultStoreDir, STORE_VERSION, StoreLayout } from "./layout.js";
import { acquirePull, DEFAULT_TIMINGS, type LockTimings, livePullMarkers } from "./locks.js";
import { ObjectReadAhead } from "./object-read-ahead.js";
import { checkObject, objectTempOptions, openVerified, WHOLE_READ_MAX } from "./objects.js";
import { type BarrierKind, StagedObjects } from "./staged.js";
import type {
  ChunkPointer,
  GcResult,
  LayerRecord,
  LayerRecordInput,
  StoredLayer,
  StoreStats,
} from "./types.js";
import { type VerifyReport, verifyStore } from "./verify.js";

export interface StoreOptions {
  /** Lock staleness and waiting (mostly for tests). */
  timings?: Partial<LockTimings>;
  /**
   * Create the store when it does not exist (default). Read-only commands pass false: a typo'd
   * `--store` is then an error (`ENOSTORE`) instead of a new empty store, and nothing is written.
   */
  create?: boolean;
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
  const root = await stat(layout.root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
    throw storeIoError(err, "open the store", layout.root);
  });
  if (root && !root.isDirectory()) {
    throw new StoreAccessError("ESTORE", `store ${layout.root} is not a directory`);
  }
  if (options.create === false) {
    if (!root) throw new StoreAccessError("ENOSTORE", `no store at ${layout.root}`);
  } else {
    for (const d of [layout.objectsDir, layout.chunksDir, layout.layersDir, layout.tmpDir]) {
      await storeIo("create the store directory", d, () => mkdir(d, { recursive: true }));
    }
    await storeIo("create the store directory", layout.pullsDir, () =>
      mkdir(layout.pullsDir, { recursive: true }),
    );
  }
  const version = await readVersion(layout, options.create !== false);
  if (version !== STORE_VERSION) {
    throw new UnsupportedError(
      `store ${layout.root} has version ${JSON.stringify(version)}, expected ${STORE_VERSION}`,
    );
  }
  return new Store(layout, { ...DEFAULT_TIMINGS, ...options.timings });
}

/**
 * The store's VERSION. Only a new store writes it, by link(2) from a complete temp file, so a
 * racing opener never reads it half-written; an existing store is opened without any write (a
 * full disk or a read-only store can still be listed and collected).
 */
async function readVersion(layout: StoreLayout, create: boolean): Promise<string> {
  const read = () => readFile(layout.versionFile, "utf8").then((t) => t.trim());
  try {
    return await read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw storeIoError(err, "read", layout.versionFile);
    }
    if (!create) throw new StoreAccessError("ENOSTORE", `${layout.root} is not a chunkpull store`);
  }
  const tmp = tempName(layout.tmpDir);
  try {
    await writeFile(tmp, `${STORE_VERSION}\n`, { flag: "wx" });
    await link(tmp, layout.versionFile).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
  } catch (err) {
    throw storeIoError(err, "create the store", layout.versionFile);
  } finally {
    await discardTemp(tmp);
  }
  return read();
}

export class Store {
  /** Objects this process wrote with `sync: false`: putLayer makes them durable first. */
  private readonly unsynced = new Set<Digest>();
  /** Object directories with renames of this process not yet made durable (see putLayer). */
  private readonly dirtyDirs = new Set<string>();

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

  /**
   * Whether the store holds a sound object `d` (of `size` bytes, when given): checked cheaply by
   * type, size and integrity stamp, re-hashed when the stamp is gone; a damaged one is removed.
   */
  async hasObject(d: Digest, size?: number): Promise<boolean> {
    return (await checkObject(this.objectPath(d), d, size)).state === "ok";
  }

  /**
   * The object's bytes, re-hashed as they are read (the last piece is held back until the
   * digest matches). NotInStoreError when it is missing or turns out damaged (it is then removed).
   */
  async openObject(
    d: Digest,
    size?: number,
    options: { verify?: boolean } = {},
  ): Promise<AsyncIterable<Buffer> | Iterable<Buffer>> {
    return openVerified(this.objectPath(d), d, size, options.verify ?? true);
  }

  /**
   * Small objects (up to `wholeReadMax` bytes), to be taken in this order, each verified when
   * taken: read ahead on the thread pool (object-read-ahead.ts).
   */
  readAhead(objects: ReadonlyArray<{ digest: Digest; size: number }>): ObjectReadAhead {
    return new ObjectReadAhead(
      objects.map((o) => ({ digest: o.digest, size: o.size, path: this.objectPath(o.digest) })),
    );
  }

  /** The largest object `readAhead` takes. */
  readonly wholeReadMax = WHOLE_READ_MAX;

  /** Exactly `length` bytes at `offset` of an object; FormatError if the object is shorter. */
  async readRange(d: Digest, offset: number, length: number): Promise<Buffer> {
    const fh = await open(this.objectPath(d), constants.O_RDONLY | constants.O_NOFOLLOW).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT" || err.code === "ELOOP") {
          throw new NotInStoreError(`object ${d} is not in the store`);
        }
        throw err;
      },
    );
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
   * Store content: streamed to a temp file, hashed, stamped, fsync'd, verified against
   * `expected` (when given; hashed with its algorithm), then renamed into place. Nothing is kept
   * on failure. With `sync: false` the per-object fsync is skipped and `putLayer` of a layer that
   * names the object is the durability barrier (one fsync per such object, just before the
   * record); until then a crash can lose or tear it, which the size/stamp check and the hash on
   * read turn into a miss.
   */
  async writeObject(
    source: AsyncIterable<Uint8Array> | Uint8Array,
    expected?: Digest,
    options: { sync?: boolean } = {},
  ): Promise<{ digest: Digest; size: number }> {
    const sync = options.sync ?? true;
    const temp = await writeTemp(this.layout.tmpDir, source, objectTempOptions(expected, sync));
    try {
      if (expected && temp.digest !== expected) {
        throw new DigestMismatchError("object written to the store", expected, temp.digest);
      }
      const path = this.layout.object(temp.digest);
      await commitTemp(temp.path, path);
      this.dirtyDirs.add(dirname(path));
      if (!sync) this.unsynced.add(temp.digest);
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

  /**
   * Presence test for planning: a pointer counts only while its object is sound and long enough
   * (a dangling or bad pointer is removed and is a miss). findChunk re-hashes the bytes on use.
   */
  async hasChunk(chunk: Digest): Promise<boolean> {
    return chunkAvailable(this.layout, chunk);
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

  /**
   * Record a proven layer: its files index and tar-split, the record last. `files` is the list
   * of the layer's regular files (the store encodes its index, files-index.ts) or, for callers
   * that already hold it, the encoded index.
   */
  async putLayer(
    record: LayerRecordInput,
    files: Bytes | readonly IndexedFile[],
    tarSplit: Bytes,
  ): Promise<LayerRecord> {
    const index = Array.isArray(files)
      ? encodeFilesIndex(record.format, files as readonly IndexedFile[], record.tocDigest)
      : (files as Bytes);
    // The durability barrier for objects written without their own fsync.
    for (const d of new Set(record.objects)) {
      if (this.unsynced.delete(d)) await fsyncFile(this.objectPath(d));
    }
    const dirs = [...this.dirtyDirs];
    const stored = await putLayer(this.layout, record, index, tarSplit, dirs);
    for (const dir of dirs) this.dirtyDirs.delete(dir);
    return stored;
  }

  async getLayer(diffId: Digest): Promise<StoredLayer | undefined> {
    return getLayer(this.layout, diffId);
  }

  /** A stored layer's exact tar, rebuilt from the store and checked against its diff_id. */
  layerTar(diffId: Digest): AsyncGenerator<Buffer> {
    return storedLayerTar(this, diffId);
  }

  async listLayers(): Promise<LayerRecord[]> {
    return listLayers(this.layout);
  }

  /** Layers whose record is damaged (named by diff_id): absent for every reader. */
  async damagedLayers(): Promise<{ diffId: string; reason: string }[]> {
    const out: { diffId: string; reason: string }[] = [];
    for await (const l of walkLayers(this.layout)) {
      if (l.damage) out.push({ diffId: l.diffId ?? l.dir, reason: l.damage });
    }
    return out;
  }

  async removeLayer(diffId: Digest): Promise<boolean> {
    return removeLayer(this.layout, diffId);
  }

  /** Remember that `reference` was pulled with these layers (shown by `store ls`). */
  async putImage(image: Omit<ImageRecord, "version" | "pulled">): Promise<ImageRecord> {
    return putImage(this.layout, image);
  }

  async listImages(): Promise<ImageRecord[]> {
    return listImages(this.layout);
  }

  async removeImage(reference: string): Promise<boolean> {
    return removeImage(this.layout, reference);
  }

  /** Register a pull (waits while gc runs). Every writer must hold one while it writes. */
  async beginPull(): Promise<PullHandle> {
    const root = this.layout.root;
    const holding = (pullsHeld.get(root) ?? 0) > 0;
    const held = await storeIo("register a pull in", this.layout.pullsDir, () =>
      acquirePull(this.layout.pullsDir, this.layout.gcLock, this.timings, holding),
    );
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
    return storeIo("collect garbage in", this.layout.root, () =>
      collectGarbage(this.layout, { ...this.timings, ...options }),
    );
  }

  /** Re-hash everything; with `repair`, remove what is damaged (see verify.ts). */
  async verify(options: { repair?: boolean } = {}): Promise<VerifyReport> {
    return verifyStore(this.layout, (o, off, len) => this.readRange(o, off, len), options);
  }

  /** Apparent size of every object, by digest (for usage reports). */
  async objectSizes(): Promise<Map<Digest, number>> {
    const sizes = new Map<Digest, number>();
    for await (const { path, digest } of walkFanOut(this.layout.objectsDir)) {
      const st = await lstat(path).catch(() => undefined);
      if (digest && st?.isFile()) sizes.set(digest, st.size);
    }
    return sizes;
  }

  async stats(): Promise<StoreStats> {
    const sizes = await this.objectSizes();
    let chunkPointers = 0;
    for await (const _ of walkFanOut(this.layout.chunksDir)) chunkPointers++;
    return {
      objects: sizes.size,
      objectBytes: [...sizes.values()].reduce((n, s) => n + s, 0),
      chunkPointers,
      layers: (await this.listLayers()).length,
      tempFiles: (await readdir(this.layout.tmpDir).catch(() => [])).length,
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
