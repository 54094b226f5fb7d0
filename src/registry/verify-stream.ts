/**
 * A pass-through stream that hashes and counts what flows through it and fails at the end with
 * DigestMismatchError (or FormatError for a wrong size) instead of ending cleanly. Too many
 * bytes fail at once, before they reach the consumer.
 */
import { Transform, type TransformCallback } from "node:stream";
import { algorithmOf, createHasher, type Digest, type Hasher } from "../digest.js";
import { DigestMismatchError, FormatError } from "../errors.js";

export class VerifyingStream extends Transform {
  private readonly hasher: Hasher;
  private received = 0;

  constructor(
    private readonly expected: Digest,
    private readonly expectedSize: number | undefined,
    private readonly subject: string,
  ) {
    super();
    this.hasher = createHasher(algorithmOf(expected));
  }

  get bytesVerified(): number {
    return this.received;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.expectedSize !== undefined && this.received > this.expectedSize) {
      done(new FormatError(`${this.subject}: more than the expected ${this.expectedSize} bytes`));
      return;
    }
    this.hasher.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.expectedSize !== undefined && this.received !== this.expectedSize) {
      done(
        new FormatError(`${this.subject}: ${this.received} bytes, expected ${this.expectedSize}`),
      );
      return;
    }
    const actual = this.hasher.digest();
    if (actual !== this.expected)
      done(new DigestMismatchError(this.subject, this.expected, actual));
    else done();
  }
}
