/**
 * The full pull: for gzip, zstd, uncompressed and every chunked layer the partial path cannot
 * take. The blob is streamed (its compressed digest checked by the registry client), decompressed,
 * hashed against the diff_id, and split into file objects as it goes, so the next image dedupes
 * against this one: files by digest and, through the same rolling-checksum chunker the
 * zstd:chunked writer uses, chunks by digest. A tar-split is built on the way, so the layer's
 * exact tar can later be rebuilt from the store.
 */

import { pipeline, type Readable, Transform } from "node:stream";
import { type Digest, digestOf, EMPTY_SHA256 } from "../digest.js";
import { ChunkpullError, DigestMismatchError } from "../errors.js";
import { gunzipStream } from "../formats/gzip-stream.js";
import type { FileRef } from "../formats/layer-index.js";
import { PaddedTarHash } from "../formats/tar/padding.js";
import { readTar } from "../formats/tar/reader.js";
import type { TarEvent } from "../formats/tar/types.js";
import { TarSplitBuilder } from "../formats/tarsplit/builder.js";
import { zstdDecompressStream } from "../formats/zstd-stream.js";
import type { LayerCompression } from "../oci/media-types.js";
import type { Store } from "../store/store.js";
import { ChunkRecorder, recordChunks, TocChunks } from "./chunk-recorder.js";
import { ObjectWriter, SMALL_FILE } from "./object-writer.js";

export interface FullPullResult {
  diffId: Digest;
  uncompressedSize: number;
  files: FileRef[];
  /** Files the store already held (small files only: large ones are streamed in regardless). */
  filesFromStore: number;
  /** undefined when the tar cannot be described by a tar-split (duplicate paths, sparse files...). */
  tarSplit?: Buffer;
  tarSplitProblem?: string;
  /** Zero bytes appended to prove the diff_id (`padding` only; formats/tar/padding.ts). */
  trailingPadding?: number;
}

export interface IndexTarOptions {
  /**
   * Try the tar's standard end paddings when the stream misses the diff_id (a zstd:chunked blob
   * whose writer cut them); one is accepted only when the padded tar hashes to the diff_id.
   */
  padding?: boolean;
  /**
   * The layer's files as its verified TOC lists them (a zstd:chunked or eStargz layer pulled
   * whole): their chunks are taken from there, not from the chunker (chunk-recorder.ts TocChunks).
   */
  toc?: readonly FileRef[] | Promise<TocOutcome>;
}

/**
 * The TOC's files from discovery running alongside the stream (pull/cold.ts), or the error it
 * failed with (rethrown once the stream is done). Files that stream by before it arrives get
 * their chunks from it afterwards; only a file it does not describe then has none recorded.
 */
export interface TocOutcome {
  files?: readonly FileRef[];
  error?: unknown;
}

/** Decompressed bytes of a layer stream. */
function decompressed(compressed: Readable, compression: LayerCompression): AsyncIterable<Buffer> {
  // pipeline (not pipe) so a digest error at the end of the blob stream reaches the reader.
  if (compression === "gzip") return gunzipStream(compressed, "gzip layer stream");
  if (compression === "zstd") return zstdDecompressStream(compressed);
  return compressed;
}

async function* hashed(
  source: AsyncIterable<Buffer>,
  hasher: { update(b: Buffer): void },
  count: { n: number },
) {
  for await (const b of source) {
    hasher.update(b);
    count.n += b.length;
    yield b;
  }
}

/** The stream, with every compressed piece counted on its way through (progress). */
function counted(compressed: Readable, onBytes: ((n: number) => void) | undefined): Readable {
  if (!onBytes) return compressed;
  const counter = new Transform({
    transform(piece: Buffer, _enc, done) {
      onBytes(piece.length);
      done(null, piece);
    },
  });
  // pipeline: an error of the blob stream (digest mismatch) destroys the counter with it.
  return pipeline(compressed, counter, () => {});
}

export function fullPull(
  compressed: Readable,
  compression: LayerCompression,
  expectedDiffId: Digest,
  store: Store,
  subject: string,
  onBytes?: (compressedBytes: number) => void,
  options: IndexTarOptions = {},
): Promise<FullPullResult> {
  const tar = decompressed(counted(compressed, onBytes), compression);
  return indexTar(tar, expectedDiffId, store, subject, options);
}

/**
 * Store every regular file of a layer tar stream as an object (chunks indexed), build its
 * tar-split, and require the stream to hash to `expectedDiffId`.
 */
export async function indexTar(
  source: AsyncIterable<Buffer>,
  expectedDiffId: Digest,
  store: Store,
  subject: string,
  options: IndexTarOptions = {},
): Promise<FullPullResult> {
  const tarHasher = new PaddedTarHash();
  const count = { n: 0 };
  const tar = hashed(source, tarHasher, count);
  const events = readTar(tar)[Symbol.asyncIterator]();
  let builder: TarSplitBuilder | undefined = new TarSplitBuilder();
  let tarSplitProblem: string | undefined;
  const lines: string[] = [];
  const feed = (ev: TarEvent) => {
    if (!builder) return;
    try {
      const out = builder.push(ev);
      if (out) lines.push(out);
    } catch (err) {
      if (!(err instanceof ChunkpullError)) throw err;
      builder = undefined;
      tarSplitProblem = err.message;
    }
  };
  const files: FileRef[] = [];
  let toc: TocChunks | undefined;
  let tocLater: Promise<TocOutcome> | undefined;
  let tocSettled = false;
  /** Files that streamed by while the TOC was still on its way. */
  const deferred: FileRef[] = [];
  if (options.toc instanceof Promise) {
    tocLater = options.toc.then((r) => {
      tocSettled = true;
      if (r.files) toc = new TocChunks(r.files);
      return r;
    });
  } else if (options.toc) toc = new TocChunks(options.toc);

  /** The next data piece of the current entry (`left` bytes of it still to come). */
  async function nextData(left: number): Promise<Buffer> {
    const next = await events.next();
    if (next.done || next.value.type !== "data") {
      throw new ChunkpullError("EFORMAT", `tar ended inside a file (${left} bytes missing)`);
    }
    feed(next.value);
    return next.value.data;
  }

  /** The payload of the current entry, pulled from the shared event iterator. */
  async function* payload(size: number): AsyncGenerator<Buffer> {
    for (let left = size; left > 0; ) {
      const b = await nextData(left);
      left -= b.length;
      yield b;
    }
  }

  // Every object of the layer is written here: staged, with one durability barrier in drain()
  // instead of an fsync each; no existence probes when the store holds no object at all.
  const writer = new ObjectWriter(store, { staged: true, probe: !(await store.hasNoObjects()) });
  try {
    for (;;) {
      const next = await events.next();
      if (next.done) break;
      const ev = next.value;
      feed(ev);
      if (ev.type !== "entry") continue;
      const h = ev.header;
      if ((h.typeflag !== "0" && h.typeflag !== "7") || h.size === 0) continue;
      // Chunk boundaries from the layer's TOC where it lists this file, else the chunker's;
      // none yet while the TOC is on its way (taken from it at the end).
      const listed = toc?.chunksOf(h.name, h.size);
      const waiting = !listed && tocLater !== undefined && !tocSettled;
      const recorder = listed || waiting ? undefined : new ChunkRecorder();
      const file: FileRef = {
        name: h.name,
        size: h.size,
        digest: EMPTY_SHA256,
        chunks: listed ?? recorder?.chunks ?? [],
      };
      files.push(file);
      if (waiting) deferred.push(file);
      const stored = (digest: Digest) => {
        file.digest = digest;
        return store.indexFile(file, digest);
      };
      if (h.size <= SMALL_FILE) {
        const parts: Buffer[] = [];
        for (let left = h.size; left > 0; ) {
          const b = await nextData(left);
          recorder?.push(b);
          parts.push(b);
          left -= b.length;
        }
        recorder?.finish();
        if (writer.probes) {
          // Hashed here so the writer can skip files the store already holds (then verified
          // again by the write only when it does write).
          const data = Buffer.concat(parts, h.size);
          await writer.add(data, stored, digestOf(data));
        } else {
          // Nothing to probe for: the pieces go straight to the temp file, hashed once there.
          await writer.add(parts, stored);
        }
      } else {
        const body = payload(h.size);
        await writer.write(recorder ? recordChunks(body, recorder) : body, stored);
      }
    }
    if (tocLater) {
      const r = await tocLater;
      if (r.error !== undefined) throw r.error;
      for (const f of deferred) f.chunks = toc?.chunksOf(f.name, f.size) ?? [];
    }
    await writer.drain();
  } catch (err) {
    await writer.drain().catch(() => {});
    throw err;
  }
  // Drain the decompressor so the registry client sees the whole blob and checks its digest.
  for await (const _ of tar) {
    // trailing compressed data that the tar reader did not need
  }
  const diffId = tarHasher.digest();
  const padding =
    diffId === expectedDiffId || !options.padding ? 0 : tarHasher.paddingFor(expectedDiffId);
  if (padding === undefined || (padding === 0 && diffId !== expectedDiffId))
    throw new DigestMismatchError(`layer tar of ${subject}`, expectedDiffId, diffId);
  // The proven zeros are trailing bytes of the tar, so the stored layer exports the exact tar.
  if (padding > 0) feed({ type: "trailing", data: Buffer.alloc(padding) });
  if (builder) {
    const tail = (builder as TarSplitBuilder).finish();
    if (tail) lines.push(tail);
  }
  return {
    diffId: expectedDiffId,
    uncompressedSize: count.n + padding,
    ...(padding ? { trailingPadding: padding } : {}),
    files,
    filesFromStore: writer.reused,
    tarSplit: builder ? Buffer.from(lines.join("")) : undefined,
    tarSplitProblem,
  };
}
