/**
 * Opens a zstd:chunked blob (spec §5.3/§5.12): locate TOC and tar-split (annotations, or the
 * footer for offline use), fetch both in ONE range request, verify the TOC digest, parse and
 * validate the TOC, verify the tar-split against the TOC's tarSplitDigest (or, for v1.47-v1.53
 * blobs, the deprecated tarsplit-checksum annotation), check TOC ≡ tar-split, and expose the
 * format-neutral ChunkedLayer the pull engine plans with.
 */
import { type Digest, digestOf, verifyBytes } from "../../digest.js";
import { FallbackError, FormatError, LimitExceededError, UnsupportedError } from "../../errors.js";
import type { ByteRange, ChunkedLayer, ChunkRef, FileRef, RangeSource } from "../layer-index.js";
import { headersOf } from "../tarsplit/headers.js";
import { parseTarSplit } from "../tarsplit/reader.js";
import { zstdDecompress } from "../zstd.js";
import {
  ESTARGZ_TOC_DIGEST_KEY,
  type MetadataPosition,
  parseZstdChunkedAnnotations,
} from "./annotations.js";
import { checkTocMatchesHeaders } from "./consistency.js";
import { FOOTER_TAIL_SIZE, type FooterVariant, parseFooter } from "./footer.js";
import { looksLikeStargzToc, MAX_TOC_SIZE, parseToc, type Toc } from "./toc.js";
import { tocFiles } from "./toc-files.js";

/** Default bound on the uncompressed tar-split we hold in memory (c/storage has no limit). */
export const DEFAULT_MAX_TAR_SPLIT_SIZE = 1024 * 1024 * 1024;

export interface OpenZstdChunkedOptions {
  /** The layer descriptor's annotations. Without them the footer is read and nothing is trusted. */
  annotations?: Record<string, string>;
  maxTarSplitSize?: number;
  signal?: AbortSignal;
}

/** How the tar-split was authenticated. */
export type TarSplitTrust = "toc" | "legacy-annotation" | "none";

export interface ZstdChunkedLayer extends ChunkedLayer {
  format: "zstd:chunked";
  blobSize: number;
  toc: Toc;
  /** The uncompressed TOC JSON, as the blob carries it. */
  tocJson: Buffer;
  /** False when opened from the footer alone: tocDigest was computed, not checked. */
  tocTrusted: boolean;
  tocPosition: MetadataPosition;
  tarSplitPosition?: MetadataPosition;
  /** Set when the positions came from the footer. */
  footerVariant?: FooterVariant;
  /** Only the pre-v1.44 `io.containers.zstd-chunked.*` annotation keys were present. */
  legacyKeys: boolean;
  /** An authenticated tar-split is available (in `tarSplit` or `legacyTarSplit`). */
  hasTarSplit: boolean;
  tarSplitTrust: TarSplitTrust;
  /** The deprecated annotation that authenticated `legacyTarSplit` (v1.47-v1.53 blobs). */
  legacyTarSplitChecksum?: Digest;
  /** Uncompressed tar-split authenticated only by the deprecated annotation (not by the TOC). */
  legacyTarSplit?: Buffer;
}

interface Located {
  tocDigest?: Digest;
  toc: MetadataPosition;
  tarSplit?: MetadataPosition;
  tarSplitChecksum?: Digest;
  legacyKeys: boolean;
  footerVariant?: FooterVariant;
}

async function locate(src: RangeSource, opts: OpenZstdChunkedOptions): Promise<Located> {
  const a = opts.annotations;
  if (a !== undefined) {
    const parsed = parseZstdChunkedAnnotations(a);
    if (parsed) return parsed;
    if (Object.hasOwn(a, ESTARGZ_TOC_DIGEST_KEY)) {
      throw new UnsupportedError(
        "layer carries an eStargz TOC annotation: not c/storage zstd:chunked",
      );
    }
    throw new FallbackError("layer has no zstd:chunked TOC annotation");
  }
  const tailLength = Math.min(FOOTER_TAIL_SIZE, src.size);
  const [tail] = await src.read(
    [{ offset: src.size - tailLength, length: tailLength }],
    opts.signal,
  );
  const footer = parseFooter(tail!, src.size);
  const out: Located = { toc: footer.toc, legacyKeys: false, footerVariant: footer.variant };
  if (footer.tarSplit) out.tarSplit = footer.tarSplit;
  return out;
}

function checkPositions(loc: Located, blobSize: number): void {
  const { toc, tarSplit } = loc;
  if (toc.length > MAX_TOC_SIZE || toc.uncompressedLength > MAX_TOC_SIZE) {
    throw new FallbackError(
      `TOC too large: ${toc.length} bytes compressed, ${toc.uncompressedLength} claimed uncompressed (limit ${MAX_TOC_SIZE})`,
      { cause: new LimitExceededError("zstd:chunked TOC exceeds 150 MiB") },
    );
  }
  const inBlob = (p: MetadataPosition, what: string) => {
    if (p.offset < 8 || p.length === 0 || p.offset + p.length > blobSize) {
      throw new FormatError(
        `${what} position [${p.offset}, ${p.offset + p.length}) is outside the blob (${blobSize} bytes)`,
      );
    }
  };
  inBlob(toc, "TOC");
  if (tarSplit) {
    inBlob(tarSplit, "tar-split");
    const overlap =
      tarSplit.offset < toc.offset + toc.length && toc.offset < tarSplit.offset + tarSplit.length;
    if (overlap) throw new FormatError("TOC and tar-split positions overlap");
  }
}

/**
 * Neighbouring metadata (c/storage writes the TOC and the tar-split back to back, a skippable
 * frame header apart) is fetched as one range: one range per request is the one shape every
 * server answers alike, and an origin that ignores Range shows it on this very first request.
 */
const METADATA_MERGE_GAP = 4096;

/** Fetch the TOC (and tar-split) in one request; ranges go out sorted as RangeSource requires. */
async function fetchMetadata(
  src: RangeSource,
  loc: Located,
  signal: AbortSignal | undefined,
): Promise<{ toc: Buffer; tarSplit?: Buffer }> {
  const toc: ByteRange = { offset: loc.toc.offset, length: loc.toc.length };
  if (!loc.tarSplit) {
    const [t] = await src.read([toc], signal);
    return { toc: t! };
  }
  const ts: ByteRange = { offset: loc.tarSplit.offset, length: loc.tarSplit.length };
  const [first, second] = ts.offset > toc.offset ? [toc, ts] : [ts, toc];
  const gap = second.offset - (first.offset + first.length);
  let a: Buffer;
  let b: Buffer;
  if (gap >= 0 && gap <= METADATA_MERGE_GAP) {
    const [both] = await src.read(
      [{ offset: first.offset, length: second.offset + second.length - first.offset }],
      signal,
    );
    a = both!.subarray(0, first.length);
    b = both!.subarray(second.offset - first.offset);
  } else {
    [a, b] = (await src.read([first, second], signal)) as [Buffer, Buffer];
  }
  return first === toc ? { toc: a, tarSplit: b } : { toc: b, tarSplit: a };
}

async function decompressBounded(data: Buffer, limit: number, what: string): Promise<Buffer> {
  try {
    return await zstdDecompress(data, limit);
  } catch (err) {
    if (err instanceof LimitExceededError) {
      throw new FallbackError(`${what} is larger than ${limit} bytes`, { cause: err });
    }
    throw err;
  }
}

export async function openZstdChunked(
  src: RangeSource,
  opts: OpenZstdChunkedOptions = {},
): Promise<ZstdChunkedLayer> {
  const loc = await locate(src, opts);
  checkPositions(loc, src.size);
  const raw = await fetchMetadata(src, loc, opts.signal);

  if (loc.tocDigest !== undefined) verifyBytes(raw.toc, loc.tocDigest, "zstd:chunked TOC");
  const tocDigest = loc.tocDigest ?? digestOf(raw.toc);
  const tocJson = await decompressBounded(raw.toc, MAX_TOC_SIZE, "TOC");
  if (looksLikeStargzToc(tocJson)) {
    throw new UnsupportedError("TOC is an eStargz JTOC (stargz-snapshotter zstdchunked layout)");
  }
  const toc = parseToc(tocJson);
  const files = tocFiles(toc, loc.toc.offset);

  const maxTarSplit = opts.maxTarSplitSize ?? DEFAULT_MAX_TAR_SPLIT_SIZE;
  let tarSplit: Buffer | undefined;
  let legacyTarSplit: Buffer | undefined;
  let trust: TarSplitTrust = "none";
  if (toc.tarSplitDigest !== undefined) {
    if (!loc.tarSplit || !raw.tarSplit) {
      throw new FormatError("TOC requires a tar-split, but no tar-split position is known");
    }
    verifyBytes(raw.tarSplit, toc.tarSplitDigest as Digest, "zstd:chunked tar-split");
    tarSplit = await decompressBounded(raw.tarSplit, maxTarSplit, "tar-split");
    trust = "toc";
  } else if (loc.tarSplitChecksum !== undefined && raw.tarSplit) {
    verifyBytes(raw.tarSplit, loc.tarSplitChecksum, "zstd:chunked tar-split (tarsplit-checksum)");
    legacyTarSplit = await decompressBounded(raw.tarSplit, maxTarSplit, "tar-split");
    trust = "legacy-annotation";
  }
  // An unauthenticated tar-split (no digest anywhere) is fetched and dropped, like c/storage.
  const usable = tarSplit ?? legacyTarSplit;
  if (usable) {
    checkTocMatchesHeaders(toc, headersOf(parseTarSplit(usable)), {
      ignoreEmptyXattrs: trust === "legacy-annotation",
    });
  }

  const layer: ZstdChunkedLayer = {
    format: "zstd:chunked",
    blobSize: src.size,
    tocDigest,
    tocTrusted: loc.tocDigest !== undefined,
    toc,
    tocJson,
    tocPosition: loc.toc,
    files,
    legacyKeys: loc.legacyKeys,
    hasTarSplit: usable !== undefined,
    tarSplitTrust: trust,
    decodeChunk,
  };
  if (loc.tarSplit) layer.tarSplitPosition = loc.tarSplit;
  if (loc.footerVariant) layer.footerVariant = loc.footerVariant;
  if (tarSplit) layer.tarSplit = tarSplit;
  if (legacyTarSplit) layer.legacyTarSplit = legacyTarSplit;
  if (loc.tarSplitChecksum) layer.legacyTarSplitChecksum = loc.tarSplitChecksum;
  return layer;
}

/**
 * Decompress exactly the frames of one chunk, never more than `chunk.size` bytes, and check the
 * size and (when the TOC gives one) the chunk digest. Single-chunk files carry no chunk digest:
 * the caller checks the file digest.
 */
export async function decodeChunk(compressed: Buffer, chunk: ChunkRef): Promise<Buffer> {
  const where = `chunk [${chunk.offset}, ${chunk.end})`;
  if (compressed.length !== chunk.end - chunk.offset) {
    throw new FormatError(
      `${where}: got ${compressed.length} compressed bytes, expected ${chunk.end - chunk.offset}`,
    );
  }
  let out: Buffer;
  try {
    out = await zstdDecompress(compressed, chunk.size);
  } catch (err) {
    throw new FormatError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  if (out.length !== chunk.size) {
    throw new FormatError(`${where}: decompressed to ${out.length} bytes, expected ${chunk.size}`);
  }
  if (chunk.digest !== undefined) verifyBytes(out, chunk.digest, where);
  return out;
}

/** Files of a layer by their cleaned absolute path (how tar-split names are mapped, §4.6). */
export function filesByPath(layer: ChunkedLayer): Map<string, FileRef> {
  return new Map(layer.files.map((f) => [f.name, f]));
}
