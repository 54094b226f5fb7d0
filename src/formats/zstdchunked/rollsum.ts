/**
 * The bup-style rolling checksum of c/storage's compressor (spec §1.3, rollsum.go): window 64,
 * char offset 31, uint32 wrapping sums. A chunk boundary falls where the low 16 bits of s2 are
 * all ones (about one boundary per 64 KiB).
 */
export const ROLLSUM_WINDOW = 64;
export const CHAR_OFFSET = 31;
export const ROLLSUM_BITS = 16;
export const SPLIT_MASK = (1 << ROLLSUM_BITS) - 1;

export class RollSum {
  s1 = ROLLSUM_WINDOW * CHAR_OFFSET;
  s2 = ROLLSUM_WINDOW * (ROLLSUM_WINDOW - 1) * CHAR_OFFSET;
  /** Exposed for the chunker's inlined hot loop. */
  readonly window = new Uint8Array(ROLLSUM_WINDOW);
  wofs = 0;

  roll(ch: number): void {
    const drop = this.window[this.wofs]!;
    this.s1 = (this.s1 + ch - drop) >>> 0;
    this.s2 = (this.s2 + this.s1 - ROLLSUM_WINDOW * (drop + CHAR_OFFSET)) >>> 0;
    this.window[this.wofs] = ch;
    this.wofs = (this.wofs + 1) & (ROLLSUM_WINDOW - 1);
  }

  /**
   * Roll `n` zero bytes. Once the window holds only zeros, each further zero leaves s1 alone and
   * adds s1 - 64*31 to s2, so long holes cost O(64) instead of O(n).
   */
  rollZeros(n: number): void {
    const direct = Math.min(n, ROLLSUM_WINDOW);
    for (let i = 0; i < direct; i++) this.roll(0);
    const rest = n - direct;
    if (rest === 0) return;
    const step = BigInt(this.s1) - BigInt(ROLLSUM_WINDOW * CHAR_OFFSET);
    this.s2 = Number(BigInt.asUintN(32, BigInt(this.s2) + BigInt(rest) * step));
    this.wofs = (this.wofs + rest) & (ROLLSUM_WINDOW - 1);
  }

  /** c/storage OnSplitWithBits(16). */
  onSplit(): boolean {
    return (this.s2 & SPLIT_MASK) === SPLIT_MASK;
  }
}
