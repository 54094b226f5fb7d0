/**
 * tar -> zstd:chunked, streaming, following c/storage's writeZstdChunkedStream (spec §1.2, §7.1):
 * header bytes go into the current frame, each regular file's payload starts a new frame, every
 * content-defined chunk (and every zeros run) is its own frame(s), the final frame carries the
 * end blocks and all trailing bytes; then the skippable TOC, tar-split and 64-byte footer frames.
 * TOC entries and the tar-split come from the same parsed headers, so they always agree.
 *
 * Default zstd level is 3 (libzstd's default: fast, ~3x faster than level 10 that c/storage
 * uses, and dedup does not depend on the level). Pass `level` to trade speed for size.
 */
import { createHasher, type Digest, digestOf } from "../../digest.js";
import { FormatError, UnsupportedError } from "../../errors.js";
import { readTar } from "../tar/reader.js";
import type { TarEvent, TarHeader } from "../tar/types.js";
import { TarSplitBuilder } from "../tarsplit/builder.js";
import { SKIPPABLE_HEADER_SIZE, skippableFrame, zstdCompress } from "../zstd.js";
import { type MetadataPosition, zstdChunkedAnnotations } from "./annotations.js";
import { type ChunkEvent, FileChunker } from "./chunker.js";
import { encodeFooter } from "./footer.js";
import { BlobSink, CompressedText, FrameWriter } from "./frames.js";
import { tocEntryFromHeader } from "./metadata.js";
import { cleanAbsPath } from "./path.js";
import { emptyTocEntry, type Toc, type TocEntry } from "./toc.js";
import { encodeToc } from "./toc-encode.js";

export const DEFAULT_ZSTD_CHUNKED_LEVEL = 3;

export interface ConvertOptions {
  level?: number;
  /** Also emit the deprecated tarsplit-checksum annotation (for c/storage v1.47-v1.53 readers). */
  legacyTarSplitChecksum?: boolean;
}

export interface ConvertResult {
  annotations: Record<string, string>;
  blobDigest: Digest;
  blobSize: number;
  /** sha256 of the uncompressed tar (what the blob decompresses to). */
  diffId: Digest;
  tocDigest: Digest;
  toc: Toc;
  tarSplitDigest: Digest;
  tocPosition: MetadataPosition;
  tarSplitPosition: MetadataPosition;
}

interface ChunkRecord {
  chunkOffset: number;
  /** Frame boundary index of the chunk start (see FrameWriter.restart). */
  offset: number;
  size: number;
  digest: Digest;
  zeros: boolean;
}

/** The payload of one regular file on its way into frames. */
class FilePayload {
  readonly chunker = new FileChunker();
  private readonly fileHasher = createHasher();
  private chunkHasher = createHasher();
  /** Frame boundary indices (FrameWriter.restart), resolved to blob offsets in tocEntries. */
  startOffset = 0;
  private lastOffset = 0;
  fileDigest: Digest | undefined;
  private written = 0;
  private chunkStart = 0;
  readonly chunks: ChunkRecord[] = [];

  constructor(private readonly frames: FrameWriter) {}

  private async data(d: Buffer): Promise<void> {
    if (d.length === 0) return;
    if (this.startOffset === 0) {
      this.startOffset = await this.frames.restart();
      this.lastOffset = this.startOffset;
    }
    this.fileHasher.update(d);
    this.chunkHasher.update(d);
    this.written += d.length;
    await this.frames.write(d);
  }

  private async cut(zeros: boolean): Promise<void> {
    if (this.startOffset === 0) return;
    const off = await this.frames.restart();
    const size = this.written - this.chunkStart;
    if (size > 0) {
      this.chunks.push({
        chunkOffset: this.chunkStart,
        offset: this.lastOffset,
        size,
        digest: this.chunkHasher.digest(),
        zeros,
      });
    }
    this.lastOffset = off;
    this.chunkStart = this.written;
    this.chunkHasher = createHasher();
  }

  async handle(events: ChunkEvent[]): Promise<void> {
    for (const e of events) {
      if (e.type === "data") await this.data(e.data);
      else if (e.type === "cut") await this.cut(false);
      else {
        const block = Buffer.alloc(Math.min(e.length, 1024 * 1024));
        for (let left = e.length; left > 0; left -= block.length) {
          await this.data(left >= block.length ? block : block.subarray(0, left));
        }
        await this.cut(true);
      }
    }
  }

  /** End of payload: the whole-file digest (its hasher is released). */
  finish(): void {
    if (this.startOffset !== 0) this.fileDigest = this.fileHasher.digest();
  }

  /**
   * The reg entry (with chunk 0 fields when there are several chunks) and its chunk entries.
   * Offsets are frame boundary indices until here: `offsetOf` resolves them (after drain).
   */
  tocEntries(main: TocEntry, offsetOf: (boundary: number) => number): TocEntry[] {
    if (this.startOffset !== 0) {
      main.digest = this.fileDigest!;
      main.offset = offsetOf(this.startOffset);
      main.endOffset = offsetOf(this.lastOffset);
    }
    const out = [main];
    if (this.chunks.length <= 1) return out;
    this.chunks.forEach((c, i) => {
      const e = i === 0 ? main : emptyTocEntry("chunk", main.name);
      e.offset = offsetOf(c.offset);
      e.chunkSize = c.size;
      e.chunkOffset = c.chunkOffset;
      e.chunkDigest = c.digest;
      e.chunkType = c.zeros ? "zeros" : "";
      if (i > 0) out.push(e);
    });
    return out;
  }
}

const HEADER_ONLY = new Set(["1", "2", "3", "4", "5", "6"]);

/** Refuse what c/storage cannot represent (P20, P21); returns the entry's TOC metadata. */
function checkHeader(hdr: TarHeader, seen: Set<string>): TocEntry {
  const what = `tar entry ${JSON.stringify(hdr.name)}`;
  if (hdr.typeflag === "g")
    throw new UnsupportedError(`${what}: PAX global headers are not supported`);
  const sparse =
    hdr.sparse === true || [...hdr.pax.keys()].some((k) => k.startsWith("GNU.sparse."));
  if (hdr.typeflag === "S" || sparse)
    throw new UnsupportedError(`${what}: sparse files are not supported`);
  const entry = tocEntryFromHeader(hdr);
  if (HEADER_ONLY.has(hdr.typeflag) && hdr.declaredSize !== 0) {
    throw new UnsupportedError(
      `${what}: a ${entry.type} header declares size ${hdr.declaredSize}; tar-split rebuilds would fail (P21)`,
    );
  }
  const clean = cleanAbsPath(hdr.name);
  if (seen.has(clean)) throw new UnsupportedError(`${what}: duplicate path ${clean}`);
  seen.add(clean);
  return entry;
}

async function* counting(source: AsyncIterable<Uint8Array>, count: { bytes: number }) {
  for await (const chunk of source) {
    count.bytes += chunk.length;
    yield chunk;
  }
}

/**
 * Convert a tar stream into a zstd:chunked blob written through `out`, in order. Input chunks
 * are referenced (not copied) until their frame is compressed: do not reuse them after yielding.
 * Memory: one frame input (<= 8 MiB), the compressed tar-split and the TOC entries.
 */
export async function convertToZstdChunked(
  tar: AsyncIterable<Uint8Array>,
  out: (chunk: Buffer) => Promise<void> | void,
  opts: ConvertOptions = {},
): Promise<ConvertResult> {
  const level = opts.level ?? DEFAULT_ZSTD_CHUNKED_LEVEL;
  const sink = new BlobSink(out);
  const frames = new FrameWriter(sink, level);
  const tarSplitText = new CompressedText(level);
  const tarSplit = new TarSplitBuilder();
  const input = { bytes: 0 };
  const entries: TocEntry[] = [];
  const seen = new Set<string>();
  let file: { payload: FilePayload; main: TocEntry } | undefined;

  // TOC entries wait for the end: their offsets are known once every frame is compressed.
  const finished: Array<{ payload: FilePayload; main: TocEntry }> = [];
  const finishFile = async () => {
    if (!file) return;
    await file.payload.handle(file.payload.chunker.finish());
    file.payload.finish();
    finished.push(file);
    file = undefined;
  };

  for await (const ev of readTar(counting(tar, input)) as AsyncIterable<TarEvent>) {
    switch (ev.type) {
      case "entry": {
        const main = checkHeader(ev.header, seen);
        await finishFile();
        await frames.write(ev.raw);
        file = { payload: new FilePayload(frames), main };
        break;
      }
      case "data":
        if (!file) throw new FormatError("tar reader produced data outside an entry");
        await file.payload.handle(file.payload.chunker.push(ev.data));
        break;
      case "end":
        await finishFile();
        await frames.write(ev.raw);
        break;
      case "trailing":
        await frames.write(ev.data);
        break;
    }
    await tarSplitText.append(tarSplit.push(ev));
  }
  await finishFile();
  await frames.restart();
  await tarSplitText.append(tarSplit.finish());
  await frames.drain();
  const offsetOf = (boundary: number) => frames.offsetOf(boundary);
  for (const f of finished) entries.push(...f.payload.tocEntries(f.main, offsetOf));

  // The diff_id is hashed over what went into the frames: exactly what the blob decompresses to
  // (P25). Every input byte must have gone there; a count guards that without a second hash.
  const diffId = frames.contentDigest();
  if (frames.contentBytes !== input.bytes) {
    throw new FormatError(
      `internal: frames hold ${frames.contentBytes} bytes, the input tar ${input.bytes}`,
    );
  }

  const tarSplitCompressed = await tarSplitText.finish();
  const tarSplitDigest = digestOf(tarSplitCompressed);
  const toc: Toc = { version: 1, entries, tarSplitDigest };
  const tocJson = Buffer.from(encodeToc(toc));
  const tocCompressed = await zstdCompress(tocJson, level);
  const tocDigest = digestOf(tocCompressed);

  const tocPosition: MetadataPosition = {
    offset: sink.count + SKIPPABLE_HEADER_SIZE,
    length: tocCompressed.length,
    uncompressedLength: tocJson.length,
  };
  await sink.write(skippableFrame(tocCompressed));
  const tarSplitPosition: MetadataPosition = {
    offset: sink.count + SKIPPABLE_HEADER_SIZE,
    length: tarSplitCompressed.length,
    uncompressedLength: tarSplitText.uncompressedBytes,
  };
  await sink.write(skippableFrame(tarSplitCompressed));
  await sink.write(encodeFooter(tocPosition, tarSplitPosition));

  const annotationInput = { tocDigest, toc: tocPosition, tarSplit: tarSplitPosition };
  const annotations = zstdChunkedAnnotations(
    opts.legacyTarSplitChecksum
      ? { ...annotationInput, tarSplitChecksum: tarSplitDigest }
      : annotationInput,
  );
  return {
    annotations,
    blobDigest: sink.digest(),
    blobSize: sink.count,
    diffId,
    tocDigest,
    toc,
    tarSplitDigest,
    tocPosition,
    tarSplitPosition,
  };
}
