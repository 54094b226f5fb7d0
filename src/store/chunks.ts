/**
 * Chunk pointers: `chunks/<algo>/<hh>/<rest>` is a symbolic link whose target text is the
 * pointer record `<object>.<offset>.<length>` (object digest in base64url, numbers in base 36).
 * symlink(2) creates the name atomically and exclusively with its full content: no temp file, no
 * rename, one syscall; and a target under 60 bytes lives inside the inode on ext4 ("fast
 * symlink"), so a pointer takes no data block (a 100-byte regular file takes 4 KiB). See
 * docs/store.md for the measurements. The link is never followed: it is only read with readlink.
 *
 * A pointer is a hint, never trusted: the chunk is re-read and re-hashed on every use, and a
 * pointer that fails is deleted. A lost pointer costs a re-fetch, never a wrong byte, which is
 * why pointers are not fsync'd.
 */
import { mkdirSync, readlinkSync, symlinkSync } from "node:fs";
import { readlink, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { algorithmOf, type Digest, digestOf, hexOf, parseDigest } from "../digest.js";
import { storeIoError } from "./io-errors.js";
import type { StoreLayout } from "./layout.js";
import { checkObject } from "./objects.js";
import type { ChunkPointer } from "./types.js";

/** Pointer record text: `[<algo>:]<base64url digest>.<offset base36>.<length base36>`. */
export function encodePointer(p: ChunkPointer): string {
  const algo = algorithmOf(p.object);
  const b64 = Buffer.from(hexOf(p.object), "hex").toString("base64url");
  const prefix = algo === "sha256" ? "" : `${algo}:`;
  return `${prefix}${b64}.${p.offset.toString(36)}.${p.length.toString(36)}`;
}

/** Parse pointer text; undefined for anything malformed. */
export function decodePointer(text: string): ChunkPointer | undefined {
  const m = /^(?:([a-z0-9]+):)?([A-Za-z0-9_-]+)\.([0-9a-z]{1,11})\.([0-9a-z]{1,11})$/.exec(text);
  if (!m) return undefined;
  const offset = Number.parseInt(m[3]!, 36);
  const length = Number.parseInt(m[4]!, 36);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) return undefined;
  try {
    const hex = Buffer.from(m[2]!, "base64url").toString("hex");
    return { object: parseDigest(`${m[1] ?? "sha256"}:${hex}`), offset, length };
  } catch {
    return undefined;
  }
}

/**
 * Write a pointer unless one exists. Returns whether a new pointer was written. Synchronous
 * calls, like the object check: a pull writes one per chunk of every new multi-chunk file.
 */
export async function putPointer(
  layout: StoreLayout,
  chunk: Digest,
  pointer: ChunkPointer,
): Promise<boolean> {
  const path = layout.chunk(parseDigest(chunk, "chunk digest"));
  const target = encodePointer(pointer);
  for (let attempt = 0; ; attempt++) {
    try {
      symlinkSync(target, path);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return false;
      if (code !== "ENOENT" || attempt > 0)
        throw storeIoError(err, "writing a chunk pointer", path);
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (e) {
        throw storeIoError(e, "creating", dirname(path));
      }
    }
  }
}

/** The pointer stored at `path`; undefined when absent or malformed (e.g. not a symlink). */
export async function readPointerAt(path: string): Promise<ChunkPointer | undefined> {
  try {
    return decodePointer(await readlink(path));
  } catch {
    return undefined;
  }
}

export async function readPointer(
  layout: StoreLayout,
  chunk: Digest,
): Promise<ChunkPointer | undefined> {
  return readPointerAt(layout.chunk(chunk));
}

/**
 * Whether the chunk can be had from the store, checked cheaply (for planning): a pointer whose
 * object is missing, damaged or too short is removed and does not count; else an object named by
 * the chunk digest that passes the object check. findChunk still re-hashes the bytes on use.
 */
export async function chunkAvailable(layout: StoreLayout, chunk: Digest): Promise<boolean> {
  const d = parseDigest(chunk, "chunk digest");
  const path = layout.chunk(d);
  const text = await pointerText(path);
  if (text !== undefined) {
    const pointer = decodePointer(text);
    if (pointer) {
      const target = await checkObject(layout.object(pointer.object), pointer.object);
      if (target.state === "ok" && pointer.offset + pointer.length <= target.size) return true;
    }
    await unlink(path).catch(() => {});
  }
  return (await checkObject(layout.object(d), d)).state === "ok";
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
  const text = await pointerText(path);
  if (text !== undefined) {
    const pointer = decodePointer(text);
    const bytes =
      pointer &&
      (await readRange(pointer.object, pointer.offset, pointer.length).catch(() => undefined));
    if (bytes && digestOf(bytes, algorithmOf(d)) === d) return bytes;
    await unlink(path).catch(() => {});
  }
  const object = await checkObject(layout.object(d), d);
  if (object.state !== "ok") return undefined;
  const whole = await readRange(d, 0, object.size).catch(() => undefined);
  return whole && digestOf(whole, algorithmOf(d)) === d ? whole : undefined;
}

/**
 * The pointer's text; "" when the name is something else than a symlink; undefined if absent.
 * Synchronous like the object check (objects.ts): planning reads one per multi-chunk file.
 */
async function pointerText(path: string): Promise<string | undefined> {
  try {
    return readlinkSync(path);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? undefined : "";
  }
}
