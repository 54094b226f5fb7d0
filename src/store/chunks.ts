/**
 * Chunk pointers: `chunks/<algo>/<hh>/<rest>` is a tiny JSON file saying which stored object
 * holds the chunk and where. A pointer is a hint, never trusted: the chunk is re-read and
 * re-hashed on every use, and a pointer that fails is deleted. That is also why pointers are
 * written without fsync: a lost or torn pointer costs a re-fetch, never a wrong byte.
 */
import { readFile, stat, unlink, writeFile } from "node:fs/promises";
import { algorithmOf, type Digest, digestOf, parseDigest } from "../digest.js";
import { commitTemp, discardTemp, tempName } from "./atomic.js";
import type { StoreLayout } from "./layout.js";
import type { ChunkPointer } from "./types.js";

export function encodePointer(p: ChunkPointer): string {
  return JSON.stringify({ object: p.object, offset: p.offset, length: p.length });
}

/** Parse pointer text; undefined for anything malformed. */
export function decodePointer(text: string): ChunkPointer | undefined {
  try {
    const v = JSON.parse(text) as Partial<ChunkPointer>;
    const { offset, length } = v;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) return undefined;
    if (offset! < 0 || length! < 0) return undefined;
    return { object: parseDigest(v.object), offset: offset!, length: length! };
  } catch {
    return undefined;
  }
}

/** Write a pointer unless one exists. Returns whether a new pointer was written. */
export async function putPointer(
  layout: StoreLayout,
  chunk: Digest,
  pointer: ChunkPointer,
): Promise<boolean> {
  const path = layout.chunk(parseDigest(chunk, "chunk digest"));
  if (await exists(path)) return false;
  const tmp = tempName(layout.tmpDir);
  try {
    await writeFile(tmp, encodePointer(pointer), { flag: "wx" });
    await commitTemp(tmp, path);
  } catch (err) {
    await discardTemp(tmp);
    throw err;
  }
  return true;
}

export async function readPointer(
  layout: StoreLayout,
  chunk: Digest,
): Promise<ChunkPointer | undefined> {
  try {
    return decodePointer(await readFile(layout.chunk(chunk), "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Find a chunk's bytes: through its pointer, else an object whose digest is the chunk digest
 * (a whole file equal to the chunk). Every candidate is hashed before it is returned; a pointer
 * whose bytes do not verify is removed. (A racing writer may have just replaced that pointer
 * with a good one; removing it then costs a re-fetch, not correctness.)
 */
export async function findChunk(
  layout: StoreLayout,
  chunk: Digest,
  readRange: (object: Digest, offset: number, length: number) => Promise<Buffer>,
): Promise<Buffer | undefined> {
  const d = parseDigest(chunk, "chunk digest");
  const path = layout.chunk(d);
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch {
    // no pointer
  }
  if (text !== undefined) {
    const pointer = decodePointer(text);
    const bytes =
      pointer &&
      (await readRange(pointer.object, pointer.offset, pointer.length).catch(() => undefined));
    if (bytes && digestOf(bytes, algorithmOf(d)) === d) return bytes;
    await unlink(path).catch(() => {});
  }
  const object = layout.object(d);
  const size = (await stat(object).catch(() => undefined))?.size;
  if (size === undefined) return undefined;
  const whole = await readRange(d, 0, size).catch(() => undefined);
  return whole && digestOf(whole, algorithmOf(d)) === d ? whole : undefined;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
