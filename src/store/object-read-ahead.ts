/**
 * Small objects read ahead on the thread pool, taken in order. A rebuild reads thousands of
 * store objects one after the other and hashes each; here the next objects' open, read and close
 * run on the pool (on another core) while the current one is hashed, within a byte budget. Every
 * object is still verified by its digest when taken; one that fails (damaged, replaced, read
 * short) is read again carefully (objects.ts), which removes it and raises NotInStoreError.
 */
import { close, constants, open, read } from "node:fs";
import { algorithmOf, type Digest, digestOf } from "../digest.js";
import { readWholeVerified, WHOLE_READ_MAX } from "./objects.js";

export interface AheadObject {
  digest: Digest;
  size: number;
  path: string;
}

const AHEAD_BYTES = 8 << 20;
const AHEAD_COUNT = 64;

/** Raw bytes of a regular file of `size` bytes; undefined on any error or another length. */
function readRaw(path: string, size: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK, (err, fd) => {
      if (err) return resolve(undefined);
      // One byte more: a longer file reads full and is refused; a short read is the end.
      const buf = Buffer.allocUnsafe(size + 1);
      read(fd, buf, 0, buf.length, null, (readErr, n) => {
        close(fd, () => {});
        resolve(!readErr && n === size ? buf.subarray(0, size) : undefined);
      });
    });
  });
}

export class ObjectReadAhead {
  private readonly started = new Map<number, Promise<Buffer | undefined>>();
  /** Next index to start reading; next index a caller may take. */
  private next = 0;
  private taken = 0;
  private bytes = 0;

  /** `objects` in the order they will be taken; each at most WHOLE_READ_MAX bytes. */
  constructor(private readonly objects: readonly AheadObject[]) {
    for (const o of objects) {
      if (o.size > WHOLE_READ_MAX) throw new RangeError(`object ${o.digest} is too large`);
    }
    this.fill();
  }

  /**
   * The verified bytes of `objects[index]`. Indexes must not decrease: objects skipped over are
   * dropped (read for nothing, which costs only time). With `verify` false the bytes are not
   * hashed (a digest over them follows, see StoreFirstContent); only their length is checked.
   */
  async take(index: number, verify = true): Promise<Buffer[]> {
    if (index < this.taken) throw new RangeError("objects are taken in order");
    for (; this.taken < index; this.taken++) this.drop(this.taken);
    // Not started yet (taken sooner than expected): read now, and start ahead past it.
    if (!this.started.has(index)) this.next = Math.max(this.next, index + 1);
    const o = this.objects[index]!;
    const pending = this.started.get(index) ?? readRaw(o.path, o.size);
    this.drop(index);
    this.taken = index + 1;
    this.fill();
    const data = await pending;
    if (data && (!verify || digestOf(data, algorithmOf(o.digest)) === o.digest)) {
      return data.length > 0 ? [data] : [];
    }
    return readWholeVerified(o.path, o.digest, o.size) ?? [];
  }

  private drop(index: number): void {
    if (this.started.delete(index)) this.bytes -= this.objects[index]!.size;
  }

  private fill(): void {
    while (
      this.next < this.objects.length &&
      this.started.size < AHEAD_COUNT &&
      (this.started.size === 0 || this.bytes + this.objects[this.next]!.size <= AHEAD_BYTES)
    ) {
      const o = this.objects[this.next]!;
      this.started.set(this.next, readRaw(o.path, o.size));
      this.bytes += o.size;
      this.next++;
    }
  }
}
