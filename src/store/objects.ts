/**
 * Object integrity on use. An object is trusted only while it still looks exactly as the store
 * left it: a regular file (a planted symlink is never followed), of the expected size when the
 * caller knows it, carrying the store's integrity stamp as its mtime. The store sets that stamp
 * on the temp file after hashing and before the rename, so any later write through the
 * filesystem (an editor, `dd`, a truncation) moves the mtime and the object is re-hashed before
 * it is used again; one that no longer hashes to its name is removed and reported as a miss.
 * Readers additionally hash while streaming (see `verifiedObject`), so damage that kept the stamp
 * (bit rot, a restored mtime) is caught before the last byte reaches the consumer.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  type Stats,
  unlinkSync,
} from "node:fs";
import { lstat, open, unlink, utimes } from "node:fs/promises";
import { algorithmOf, createHasher, type Digest, digestOf, parseDigest } from "../digest.js";
import { NotInStoreError } from "../errors.js";

/** The integrity stamp: every object's mtime, in seconds (2001-09-09T01:46:40Z). */
export const OBJECT_STAMP_S = 1_000_000_000;
const STAMP_MS = OBJECT_STAMP_S * 1000;

/**
 * How every object's temp file is written (writeObject and staged writes alike): hashed with
 * `expected`'s algorithm, read-only, carrying the integrity stamp.
 */
export function objectTempOptions(expected: Digest | undefined, fsync: boolean) {
  return {
    algorithm: expected ? algorithmOf(parseDigest(expected, "expected digest")) : "sha256",
    fsync,
    mode: 0o444,
    mtime: OBJECT_STAMP_S,
    what: `object ${expected ?? "(new)"}`,
  } as const;
}
const READ_PIECE = 1 << 20;
/**
 * Objects up to this size are read whole with synchronous calls. Store objects are mostly small
 * files in the page cache: open, fstat, one read and close take microseconds on the calling
 * thread, while each asynchronous call is a thread-pool round trip costing tens (and a 1 MiB
 * read buffer per object kept the garbage collector busy). An update pull reads thousands.
 */
export const WHOLE_READ_MAX = 1 << 20;

export type ObjectState = "ok" | "missing" | "damaged";

export interface ObjectCheck {
  state: ObjectState;
  /** The object's size when it is "ok". */
  size: number;
}

/**
 * Cheap check of the object at `path` (named `d`): lstat, size and stamp; a full re-hash only when
 * the stamp is gone. A damaged object is removed (best effort: a read-only store keeps it) and
 * reported, so the caller treats it as a miss.
 */
export async function checkObject(path: string, d: Digest, size?: number): Promise<ObjectCheck> {
  // Synchronous on purpose: an lstat hits the inode cache (see WHOLE_READ_MAX); planning a layer
  // checks every one of its files.
  let st: Stats | undefined;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch {
    st = undefined;
  }
  if (!st) return { state: "missing", size: 0 };
  let good = st.isFile() && (size === undefined || st.size === size);
  if (good && st.mtimeMs !== STAMP_MS) {
    good = (await hashFile(path, d).catch(() => undefined)) === d;
    // Re-stamp what was proven good, so the next use is cheap again (not possible read-only).
    if (good) await utimes(path, OBJECT_STAMP_S, OBJECT_STAMP_S).catch(() => {});
  }
  if (good) return { state: "ok", size: st.size };
  await removeIfSame(path, st.ino);
  return { state: "damaged", size: 0 };
}

/** Hash a stored file without following a symlink. */
export async function hashFile(path: string, d: Digest): Promise<Digest> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hasher = createHasher(algorithmOf(d));
    const buf = Buffer.allocUnsafe(READ_PIECE);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
    }
    return hasher.digest();
  } finally {
    await fh.close();
  }
}

/**
 * The object's bytes, hashed on the way: the last piece is held back until the digest matches,
 * so a consumer never receives all of a damaged object; on a mismatch the object is removed and
 * NotInStoreError raised (a miss: a re-pull brings it back). A missing object (or a symlink in its
 * place) raises NotInStoreError when opened.
 */
export async function openVerified(
  path: string,
  d: Digest,
  size?: number,
  verify = true,
): Promise<AsyncIterable<Buffer> | Iterable<Buffer>> {
  const whole = verify ? readWholeVerified(path, d, size) : undefined;
  if (whole) return whole;
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ELOOP") {
      throw new NotInStoreError(`object ${d} is not in the store`);
    }
    throw err;
  }
  return readVerified(fh, path, d, verify);
}

/**
 * A small object read whole and hashed, synchronously (see WHOLE_READ_MAX); undefined when the
 * object is larger (the caller streams it). Raises NotInStoreError like openVerified. With the
 * expected `size` it costs three system calls: open, one read of size + 1 bytes (a regular file
 * reads short only at its end, so a short read proves the length) and close.
 */
export function readWholeVerified(path: string, d: Digest, size?: number): Buffer[] | undefined {
  if (size !== undefined && size > WHOLE_READ_MAX) return undefined;
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted in the store must not hang the open (it then fails the hash).
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ELOOP") {
      throw new NotInStoreError(`object ${d} is not in the store`);
    }
    throw err;
  }
  let data: Buffer;
  let ino = -1;
  try {
    let want = size;
    if (want === undefined) {
      want = fstatSync(fd).size;
      if (want > WHOLE_READ_MAX) return undefined;
    }
    // One byte more than expected: an object that grew is damaged, not cut short.
    data = Buffer.allocUnsafe(want + 1);
    let got = readSync(fd, data, 0, data.length, null);
    // Short of `want` is the end only when a further read says so (some filesystems read short).
    while (got < want) {
      const n = readSync(fd, data, got, data.length - got, null);
      if (n === 0) break;
      got += n;
    }
    data = data.subarray(0, got);
    if (got !== want || digestOf(data, algorithmOf(d)) !== d) ino = fstatSync(fd).ino;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EAGAIN")
      ino = 0; // not a regular file
    else throw err;
  } finally {
    closeSync(fd);
  }
  if (ino >= 0) {
    if (ino > 0) removeIfSameSync(path, ino);
    throw new NotInStoreError(`object ${d} was damaged in the store (removed; pull again)`);
  }
  return data!.length > 0 ? [data!] : [];
}

async function* readVerified(
  fh: Awaited<ReturnType<typeof open>>,
  path: string,
  d: Digest,
  verify: boolean,
): AsyncGenerator<Buffer> {
  try {
    if (!verify) {
      for (;;) {
        const buf = Buffer.allocUnsafe(READ_PIECE);
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return;
        yield buf.subarray(0, bytesRead);
      }
    }
    const { ino } = await fh.stat();
    const hasher = createHasher(algorithmOf(d));
    let held: Buffer | undefined;
    for (;;) {
      const buf = Buffer.allocUnsafe(READ_PIECE);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const piece = buf.subarray(0, bytesRead);
      hasher.update(piece);
      if (held) yield held;
      held = piece;
    }
    if (hasher.digest() !== d) {
      await removeIfSame(path, ino);
      throw new NotInStoreError(`object ${d} was damaged in the store (removed; pull again)`);
    }
    if (held) yield held;
  } finally {
    await fh.close();
  }
}

function removeIfSameSync(path: string, ino: number): void {
  try {
    if (lstatSync(path, { throwIfNoEntry: false })?.ino === ino) unlinkSync(path);
  } catch {
    // best effort: a read-only store keeps it; the next check finds it again
  }
}

/** Unlink `path` only if it is still the inode that was judged (a racing writer may have replaced it). */
async function removeIfSame(path: string, ino: number): Promise<void> {
  const now = await lstat(path).catch(() => undefined);
  if (now && now.ino === ino) await unlink(path).catch(() => {});
}
