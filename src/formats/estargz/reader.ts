/**
 * Open a gzip eStargz blob through random access (spec estargz.md §1.7, §2.3): one tail read that
 * usually holds footer and TOC, TOC digest verified against the layer annotation before anything
 * in the TOC is believed, then the format-neutral file list. Chunks are verified in decodeChunk.
 */
import { type Digest, digestOf, parseDigest, verifyBytes } from "../../digest.js";
import { DigestMismatchError, FormatError, LimitExceededError } from "../../errors.js";
import type { ChunkedLayer, ChunkRef, FileRef, RangeSource } from "../layer-index.js";
import { tocFiles } from "./files.js";
import { type EstargzFooter, parseEstargzFooter } from "./footer.js";
import { gunzipBounded, gunzipSlice } from "./gzip.js";
import { parseToc, type Toc } from "./toc.js";
import { readTocTarEntry } from "./toc-tar.js";

export const TOC_DIGEST_ANNOTATION = "containerd.io/snapshot/stargz/toc.digest";
export const UNCOMPRESSED_SIZE_ANNOTATION = "io.containers.estargz.uncompressed-size";

/** containers/storage refuses TOCs past 150 MiB; so do we (compressed and uncompressed). */
export const DEFAULT_MAX_TOC_SIZE = 150 << 20;
/** First read: footer plus, usually, the whole TOC member (spec §1.7 recommendation). */
export const DEFAULT_TAIL_READ = 64 << 10;

export interface OpenEstargzOptions {
  /** The layer descriptor's annotations; the TOC digest in them is verified when present. */
  annotations?: Record<string, string>;
  /** Refuse the layer when no TOC digest annotation vouches for the TOC. */
  requireTocDigest?: boolean;
  maxTocSize?: number;
  tailReadSize?: number;
  signal?: AbortSignal;
}

/** Metadata shared by both eStargz flavours. */
export interface EstargzTocInfo {
  toc: Toc;
  /** Raw TOC JSON exactly as stored (what the TOC digest covers). */
  tocJson: Buffer;
  /** Blob offset where the data members end and the TOC begins. */
  dataEnd: number;
  /** True when a TOC digest annotation was given and matched. */
  tocVerified: boolean;
  /** From the io.containers.estargz.uncompressed-size annotation, when present and valid. */
  uncompressedSize?: number;
}

export interface EstargzLayer extends ChunkedLayer, EstargzTocInfo {
  format: "estargz";
  footer: EstargzFooter;
}

export async function openEstargz(
  src: RangeSource,
  opts: OpenEstargzOptions = {},
): Promise<EstargzLayer> {
  const maxToc = opts.maxTocSize ?? DEFAULT_MAX_TOC_SIZE;
  const tailLength = Math.min(src.size, opts.tailReadSize ?? DEFAULT_TAIL_READ);
  const tailStart = src.size - tailLength;
  const [tail] = await src.read([{ offset: tailStart, length: tailLength }], opts.signal);
  const footer = parseEstargzFooter(tail as Buffer, src.size);
  const tocEnd = src.size - footer.size;
  const tocLength = tocEnd - footer.tocOffset;
  if (tocLength > maxToc) {
    throw new LimitExceededError(`eStargz TOC member is ${tocLength} bytes, limit is ${maxToc}`);
  }
  const member =
    footer.tocOffset >= tailStart
      ? (tail as Buffer).subarray(footer.tocOffset - tailStart, tocEnd - tailStart)
      : ((
          await src.read([{ offset: footer.tocOffset, length: tocLength }], opts.signal)
        )[0] as Buffer);
  const tar = gunzipBounded(member, maxToc + 4096, "eStargz TOC member");
  const tocJson = readTocTarEntry(tar, maxToc);
  const info = verifyAndParseToc(tocJson, footer.tocOffset, opts);
  const files = tocFiles(info.toc, footer.tocOffset);
  return {
    format: "estargz",
    ...info,
    footer,
    files,
    decodeChunk: chunkDecoder(files, "eStargz", (compressed, chunk) =>
      gunzipSlice(
        compressed,
        chunk.innerOffset ?? 0,
        chunk.size,
        `eStargz chunk at blob offset ${chunk.offset}`,
      ),
    ),
  };
}

/**
 * Check the TOC JSON against the annotation (sha256 of the exact stored bytes, spec §2.2) before
 * parsing it, then parse and validate. Shared with the zstd flavour.
 */
export function verifyAndParseToc(
  tocJson: Buffer,
  dataEnd: number,
  opts: Pick<OpenEstargzOptions, "annotations" | "requireTocDigest">,
  unknownKeys?: Set<string>,
): EstargzTocInfo & { tocDigest: Digest } {
  const annotated = opts.annotations?.[TOC_DIGEST_ANNOTATION];
  let tocDigest: Digest;
  if (annotated !== undefined) {
    tocDigest = parseDigest(annotated, `annotation ${TOC_DIGEST_ANNOTATION}`);
    verifyBytes(tocJson, tocDigest, "eStargz TOC JSON (stargz.index.json)");
  } else if (opts.requireTocDigest) {
    throw new FormatError(
      `eStargz layer has no ${TOC_DIGEST_ANNOTATION} annotation: its TOC cannot be verified`,
    );
  } else {
    tocDigest = digestOf(tocJson);
  }
  const toc = parseToc(tocJson, dataEnd, unknownKeys);
  const info: EstargzTocInfo & { tocDigest: Digest } = {
    toc,
    tocJson,
    dataEnd,
    tocDigest,
    tocVerified: annotated !== undefined,
  };
  const size = opts.annotations?.[UNCOMPRESSED_SIZE_ANNOTATION];
  if (size !== undefined && /^\d{1,16}$/.test(size) && Number.isSafeInteger(Number(size))) {
    info.uncompressedSize = Number(size);
  }
  return info;
}

/**
 * Wrap a member decoder with the checks every chunk gets: exactly the bytes [offset, end) were
 * passed, and the decoded chunk hashes to its TOC digest (named by file in the error).
 */
export function chunkDecoder(
  files: FileRef[],
  label: string,
  decode: (compressed: Buffer, chunk: ChunkRef) => Promise<Buffer>,
): ChunkedLayer["decodeChunk"] {
  const owner = new WeakMap<ChunkRef, string>();
  for (const f of files) for (const c of f.chunks) owner.set(c, f.name);
  return async (compressed, chunk) => {
    const where = `${label} ${owner.get(chunk) ?? "file"} chunk @${chunk.fileOffset} (blob offset ${chunk.offset})`;
    if (compressed.length !== chunk.end - chunk.offset) {
      throw new FormatError(
        `${where}: got ${compressed.length} compressed bytes, want ${chunk.end - chunk.offset}`,
      );
    }
    const data = await decode(compressed, chunk);
    if (data.length !== chunk.size) {
      throw new FormatError(`${where}: decoded ${data.length} bytes, want ${chunk.size}`);
    }
    if (chunk.digest) {
      const actual = digestOf(data);
      if (actual !== chunk.digest) throw new DigestMismatchError(where, chunk.digest, actual);
    }
    return data;
  };
}
