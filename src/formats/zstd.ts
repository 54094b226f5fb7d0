/**
 * zstd primitives shared by the zstd:chunked and estargz-zstd codecs: whole-frame compression
 * through @mongodb-js/zstd (a native binding shipped in the npm package), skippable frames, and a
 * guarded decompression that refuses frames claiming more output than the caller allows.
 */
import { createRequire } from "node:module";
import { FormatError, LimitExceededError } from "../errors.js";

// The package's JS wrapper (index.js) drops the level argument, so every level compressed as 3.
// Its native binding takes the level; load that directly.
const binding = createRequire(import.meta.url)("@mongodb-js/zstd/bindings.js") as {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
};
const { compress, decompress } = binding;

export const ZSTD_MAGIC = 0xfd2fb528;
/** The first of the 16 skippable magics (0x184D2A50..5F); c/storage always writes this one. */
export const SKIPPABLE_MAGIC = 0x184d2a50;
export const SKIPPABLE_HEADER_SIZE = 8;

export function zstdCompress(data: Uint8Array, level: number): Promise<Buffer> {
  return compress(Buffer.from(data.buffer, data.byteOffset, data.byteLength), level);
}

/**
 * Decompress one or more concatenated zstd frames (skippable frames are skipped).
 * `maxOutput` bounds memory: every frame header must declare its content size and the sum must
 * stay within the bound, otherwise we refuse before allocating.
 */
export async function zstdDecompress(data: Uint8Array, maxOutput: number): Promise<Buffer> {
  const declared = declaredContentSize(data);
  if (declared !== undefined && declared > maxOutput) {
    throw new LimitExceededError(`zstd data declares ${declared} bytes, limit is ${maxOutput}`);
  }
  try {
    const out = await decompress(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    if (out.length > maxOutput) {
      throw new LimitExceededError(
        `zstd data decompressed to ${out.length} bytes, limit is ${maxOutput}`,
      );
    }
    return out;
  } catch (err) {
    if (err instanceof LimitExceededError) throw err;
    throw new FormatError(`invalid zstd data: ${(err as Error).message}`, { cause: err });
  }
}

/** A skippable frame: magic, u32 LE payload length, payload. */
export function skippableFrame(payload: Uint8Array): Buffer {
  if (payload.length > 0xffffffff) throw new LimitExceededError("skippable frame payload >= 4 GiB");
  const header = Buffer.alloc(SKIPPABLE_HEADER_SIZE);
  header.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  header.writeUInt32LE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export function isSkippableMagic(magic: number): boolean {
  return (magic & 0xfffffff0) === 0x184d2a50;
}

/**
 * Sum of the content sizes declared by the frame headers of `data`, walking frame by frame.
 * Returns undefined when a frame does not declare its size (the caller then relies on the
 * post-decompression check). Skippable frames count as zero.
 */
export function declaredContentSize(data: Uint8Array): number | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let total = 0;
  while (pos + 4 <= data.length) {
    const magic = view.getUint32(pos, true);
    if (isSkippableMagic(magic)) {
      if (pos + 8 > data.length) return undefined;
      pos += 8 + view.getUint32(pos + 4, true);
      continue;
    }
    if (magic !== ZSTD_MAGIC) return undefined;
    const size = frameContentSize(data, pos + 4);
    if (size === undefined) return undefined;
    total += size.contentSize;
    const end = frameEnd(data, pos, size.headerEnd);
    if (end === undefined) return undefined;
    pos = end;
  }
  return total;
}

function frameContentSize(
  data: Uint8Array,
  at: number,
): { contentSize: number; headerEnd: number } | undefined {
  const fhd = data[at];
  if (fhd === undefined) return undefined;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const dictIdFlag = fhd & 3;
  let pos = at + 1 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictIdFlag]!;
  const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsSize === 0) return undefined;
  if (pos + fcsSize > data.length) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let size: number;
  if (fcsSize === 1) size = data[pos]!;
  else if (fcsSize === 2) size = view.getUint16(pos, true) + 256;
  else if (fcsSize === 4) size = view.getUint32(pos, true);
  else size = Number(view.getBigUint64(pos, true));
  pos += fcsSize;
  return { contentSize: size, headerEnd: pos };
}

/** Walk the blocks of a frame to find where it ends (including the optional checksum). */
function frameEnd(data: Uint8Array, frameStart: number, headerEnd: number): number | undefined {
  const hasChecksum = ((data[frameStart + 4]! >> 2) & 1) === 1;
  let pos = headerEnd;
  for (;;) {
    if (pos + 3 > data.length) return undefined;
    const bh = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
    const last = bh & 1;
    const type = (bh >> 1) & 3;
    const size = bh >>> 3;
    pos += 3 + (type === 1 ? 1 : size);
    if (last) break;
  }
  return pos + (hasChecksum ? 4 : 0);
}
