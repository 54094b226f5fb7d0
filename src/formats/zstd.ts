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

/** The most one zstd block can decompress to (Block_Maximum_Size, RFC 8878 §3.1.1.2.4). */
export const ZSTD_BLOCK_MAX = 128 * 1024;
/**
 * How far a frame without a declared content size may be allowed to expand past the caller's
 * bound before decompression starts: the native binding cannot stop midway, so this is the
 * most memory one untrusted frame can take beyond what the caller asked for.
 */
const BOMB_FLOOR = 32 << 20;

/**
 * Decompress one or more concatenated zstd frames (skippable frames are skipped).
 * `maxOutput` bounds memory before anything is allocated: frames that declare their content
 * size must stay within it; for frames that do not, the block headers give an upper bound
 * (a block never decodes to more than 128 KiB), and data whose bound exceeds what the caller
 * allows (plus a block per frame of slack, at least BOMB_FLOOR) is refused as a possible
 * decompression bomb. The exact size is checked again after decompression.
 */
export async function zstdDecompress(data: Uint8Array, maxOutput: number): Promise<Buffer> {
  const declared = declaredContentSize(data);
  if (declared !== undefined && declared > maxOutput) {
    throw new LimitExceededError(`zstd data declares ${declared} bytes, limit is ${maxOutput}`);
  }
  if (declared === undefined) {
    const b = zstdOutputBound(data);
    if (b === undefined) throw new FormatError("invalid zstd data: truncated or malformed frame");
    const allowed = Math.max(maxOutput + b.frames * ZSTD_BLOCK_MAX, BOMB_FLOOR);
    if (b.bound > allowed) {
      throw new LimitExceededError(
        `zstd data may expand to ${b.bound} bytes (${b.blocks} blocks), limit is ${maxOutput}: refused as a possible decompression bomb`,
      );
    }
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

/**
 * An upper bound of what `data` decompresses to, from frame and block headers only: a declared
 * content size where there is one, else raw/RLE block sizes plus 128 KiB per compressed block.
 * Undefined when the frames cannot be walked to the end (truncated, not zstd).
 */
export function zstdOutputBound(
  data: Uint8Array,
): { bound: number; frames: number; blocks: number } | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let bound = 0;
  let frames = 0;
  let blocks = 0;
  while (pos < data.length) {
    if (pos + 8 > data.length) return undefined;
    const magic = view.getUint32(pos, true);
    if (isSkippableMagic(magic)) {
      pos += 8 + view.getUint32(pos + 4, true);
      continue;
    }
    if (magic !== ZSTD_MAGIC) return undefined;
    frames++;
    const fhd = data[pos + 4]!;
    if ((fhd >> 3) & 1) return undefined;
    const singleSegment = (fhd >> 5) & 1;
    const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6]!;
    const headerEnd = pos + 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + fcsSize;
    const declared = frameContentSize(data, pos + 4);
    let b = headerEnd;
    let frameBound = 0;
    for (;;) {
      if (b + 3 > data.length) return undefined;
      const bh = data[b]! | (data[b + 1]! << 8) | (data[b + 2]! << 16);
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) return undefined;
      blocks++;
      frameBound += type === 2 ? ZSTD_BLOCK_MAX : size;
      b += 3 + (type === 1 ? 1 : size);
      if (bh & 1) break;
    }
    pos = b + ((fhd >> 2) & 1 ? 4 : 0);
    if (pos > data.length) return undefined;
    bound += declared !== undefined ? Math.min(declared.contentSize, frameBound) : frameBound;
  }
  return { bound, frames, blocks };
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
