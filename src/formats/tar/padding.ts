/**
 * Trailing padding a tar writer put after the end of the archive, recovered from the diff_id.
 *
 * containers/storage 1.43 (skopeo 1.9) wrote zstd:chunked layers without a tar-split and
 * without the tar's trailing zero padding, while the config keeps the diff_id of the original
 * tar. Rebuilt from the blob, such a tar misses only zeros at its end, and how many is not
 * arbitrary: tar writers end an archive with two 512-byte zero blocks and pad it to a whole
 * record (GNU tar and bsdtar: 20 blocks, 10240 bytes). So a handful of candidate lengths is
 * tried, each by hashing the zeros on a copy of the hash state; a candidate is accepted only
 * when the padded tar hashes to the diff_id, which proves it byte for byte.
 */
import { createHash, type Hash } from "node:crypto";
import type { Digest } from "../../digest.js";

/** tar's default record: blocking factor 20 x 512-byte blocks. */
export const RECORD_SIZE = 10240;
const BLOCK = 512;
/** The end-of-archive marker: two zero blocks. */
const END_MARKER = 2 * BLOCK;

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * Zero-byte counts that could follow `length` bytes of a tar whose end was cut, smallest first:
 * up to the next record (the end marker survived, the record padding did not), the end marker
 * alone (writers that do not pad records, Go's archive/tar), and the end marker plus record
 * padding (both cut). Never 0: the unpadded tar was already checked.
 */
export function paddingCandidates(length: number): number[] {
  const block = roundUp(length, BLOCK);
  const out = new Set<number>([
    roundUp(length, RECORD_SIZE) - length,
    block + END_MARKER - length,
    roundUp(block + END_MARKER, RECORD_SIZE) - length,
  ]);
  return [...out].filter((n) => n > 0).sort((a, b) => a - b);
}

/**
 * A sha256 over a tar stream that can answer, once the stream is over, which standard trailing
 * padding (if any) makes it hash to the expected diff_id.
 */
export class PaddedTarHash {
  private readonly hash: Hash = createHash("sha256");
  length = 0;

  update(piece: Uint8Array): void {
    this.hash.update(piece);
    this.length += piece.length;
  }

  /** The digest of what was hashed so far (the state stays usable). */
  digest(): Digest {
    return `sha256:${this.hash.copy().digest("hex")}`;
  }

  /** Zero bytes to append so the tar hashes to `expected`; undefined when no candidate does. */
  paddingFor(expected: Digest): number | undefined {
    if (!expected.startsWith("sha256:")) return undefined;
    for (const zeros of paddingCandidates(this.length)) {
      const h = this.hash.copy();
      h.update(Buffer.alloc(zeros));
      if (`sha256:${h.digest("hex")}` === expected) return zeros;
    }
    return undefined;
  }
}
