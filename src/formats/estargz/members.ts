/**
 * Writes a blob as a sequence of gzip members (spec estargz.md §1.2): bytes go into the open
 * member; `close()` ends it so the next write starts a new member at `offset`. Output is handed
 * on as it is produced and small writes are coalesced, so memory stays bounded whatever the
 * member size.
 */
import { createGzip, type Gzip } from "node:zlib";
import { createHasher, type Digest } from "../../digest.js";

const COALESCE = 64 << 10;

export class GzipMemberWriter {
  /** Compressed bytes emitted so far = blob offset where the next member would start. */
  offset = 0;
  /** Uncompressed bytes written so far (the diff_id stream length). */
  uncompressed = 0;
  private readonly blobHash = createHasher();
  private readonly diffHash = createHasher();
  private gz: Gzip | undefined;
  private produced: Buffer[] = [];
  private input: Buffer[] = [];
  private inputLength = 0;
  private failure: Error | undefined;

  constructor(
    private readonly out: (chunk: Buffer) => Promise<void> | void,
    private readonly level: number,
  ) {}

  /** Append uncompressed bytes to the current member, opening one if needed. */
  async write(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    this.diffHash.update(data);
    this.uncompressed += data.length;
    this.input.push(data);
    this.inputLength += data.length;
    if (!this.gz) this.open();
    if (this.inputLength >= COALESCE) await this.feed();
  }

  /** End the current member (no-op when none is open). */
  async close(): Promise<void> {
    const gz = this.gz;
    if (!gz) return;
    await this.feed();
    this.gz = undefined;
    await new Promise<void>((resolve, reject) => {
      gz.once("end", resolve);
      gz.once("error", reject);
      gz.end();
    });
    await this.drain();
  }

  /** Bytes that are not a gzip member of ours (the footer): counted in the blob, not the diff. */
  async writeRaw(bytes: Buffer): Promise<void> {
    this.produced.push(bytes);
    await this.drain();
  }

  get blobDigest(): Digest {
    return this.blobHash.digest();
  }

  get diffId(): Digest {
    return this.diffHash.digest();
  }

  private open(): void {
    const gz = createGzip({ level: this.level });
    gz.on("data", (b: Buffer) => this.produced.push(b));
    gz.on("error", (err) => {
      this.failure = err;
    });
    this.gz = gz;
  }

  private async feed(): Promise<void> {
    const gz = this.gz;
    if (!gz || this.inputLength === 0) return;
    const data = this.input.length === 1 ? (this.input[0] as Buffer) : Buffer.concat(this.input);
    this.input = [];
    this.inputLength = 0;
    await new Promise<void>((resolve, reject) =>
      gz.write(data, (err) => (err ? reject(err) : resolve())),
    );
    await this.drain();
  }

  private async drain(): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.produced.length > 0) {
      const b = this.produced.shift() as Buffer;
      this.offset += b.length;
      this.blobHash.update(b);
      await this.out(b);
    }
  }
}
