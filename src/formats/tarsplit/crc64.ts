/**
 * CRC-64 exactly as Go's hash/crc64 with crc64.MakeTable(crc64.ISO), which tar-split uses for
 * FileType payloads (spec §4.2): reflected polynomial 0xD800000000000000, init and final XOR
 * all ones, digest = 8 bytes big-endian.
 *
 * JavaScript has no fast 64-bit integers (BigInt is ~50x slower), so the register is kept as two
 * uint32 halves and the loop uses slicing-by-8 tables: one table lookup per input byte, eight
 * bytes per iteration. This runs over every byte of every layer, hence the effort: pieces of
 * WASM_MIN bytes or more go to the WebAssembly build of the same loop (kernels.wat, i64
 * registers), which runs about twice as fast; smaller ones are not worth the copy and the call.
 */
import { CRC_STATE, fillCrcTables, INPUT, wasmKernels } from "../kernels/index.js";

const TABLES = 8;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** TABLE_LO[k * 256 + b] / TABLE_HI[...]: CRC of byte b followed by k zero bytes (no pre/post XOR). */
const TABLE_LO = new Uint32Array(TABLES * 256);
const TABLE_HI = new Uint32Array(TABLES * 256);

(function buildTables(): void {
  const POLY_HI = 0xd8000000;
  const POLY_LO = 0x00000000;
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = lo & 1;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi = hi >>> 1;
      if (carry) {
        lo = (lo ^ POLY_LO) >>> 0;
        hi = (hi ^ POLY_HI) >>> 0;
      }
    }
    TABLE_LO[i] = lo;
    TABLE_HI[i] = hi;
  }
  for (let k = 1; k < TABLES; k++) {
    for (let i = 0; i < 256; i++) {
      const prevLo = TABLE_LO[(k - 1) * 256 + i]!;
      const prevHi = TABLE_HI[(k - 1) * 256 + i]!;
      const idx = prevLo & 0xff;
      TABLE_LO[k * 256 + i] = (((prevLo >>> 8) | (prevHi << 24)) ^ TABLE_LO[idx]!) >>> 0;
      TABLE_HI[k * 256 + i] = ((prevHi >>> 8) ^ TABLE_HI[idx]!) >>> 0;
    }
  }
})();

/** Below this many bytes the JavaScript loop wins over copying into WebAssembly memory. */
export const WASM_MIN = 512;
/** The most bytes copied into WebAssembly memory at once (bounds its growth). */
const WASM_SLICE = 1 << 20;

/** Incremental CRC-64/GO-ISO. */
export class Crc64 {
  // The register holds the pre-inverted CRC (Go: crc = ^crc at start and end of every update).
  private lo = 0xffffffff;
  private hi = 0xffffffff;

  /** @param useWasm false forces the JavaScript loop (tests compare the two). */
  constructor(private readonly useWasm = true) {}

  update(data: Uint8Array): void {
    if (this.useWasm && data.length >= WASM_MIN && this.updateWasm(data)) return;
    this.updateJs(data);
  }

  private updateWasm(data: Uint8Array): boolean {
    const k = wasmKernels();
    if (!k) return false;
    fillCrcTables(TABLE_LO, TABLE_HI);
    k.reserve(Math.min(data.length, WASM_SLICE));
    k.words[CRC_STATE >> 2] = this.lo | 0;
    k.words[(CRC_STATE >> 2) + 1] = this.hi | 0;
    for (let off = 0; off < data.length; off += WASM_SLICE) {
      const piece = data.subarray(off, off + WASM_SLICE);
      k.bytes.set(piece, INPUT);
      k.crc64(INPUT, piece.length);
    }
    this.lo = k.words[CRC_STATE >> 2]! >>> 0;
    this.hi = k.words[(CRC_STATE >> 2) + 1]! >>> 0;
    return true;
  }

  private updateJs(data: Uint8Array): void {
    let lo = this.lo;
    let hi = this.hi;
    const tLo = TABLE_LO;
    const tHi = TABLE_HI;
    const n = data.length;
    let i = 0;
    // Bytewise until the data is 4-byte aligned, so the bulk can be read as uint32 words
    // (little-endian hosts only; the byte loop below is the portable fallback).
    if (LITTLE_ENDIAN) {
      while (i < n && (data.byteOffset + i) % 4 !== 0) {
        const idx = (lo ^ data[i]!) & 0xff;
        lo = ((lo >>> 8) | (hi << 24)) ^ tLo[idx]!;
        hi = (hi >>> 8) ^ tHi[idx]!;
        i++;
      }
      const words = (n - i) >>> 3;
      if (words > 0) {
        const w = new Uint32Array(data.buffer, data.byteOffset + i, words * 2);
        for (let k = 0; k < w.length; k += 2) {
          const a = (lo ^ w[k]!) >>> 0;
          const b = (hi ^ w[k + 1]!) >>> 0;
          const i7 = 1792 + (a & 0xff);
          const i6 = 1536 + ((a >>> 8) & 0xff);
          const i5 = 1280 + ((a >>> 16) & 0xff);
          const i4 = 1024 + (a >>> 24);
          const i3 = 768 + (b & 0xff);
          const i2 = 512 + ((b >>> 8) & 0xff);
          const i1 = 256 + ((b >>> 16) & 0xff);
          const i0 = b >>> 24;
          lo =
            tLo[i7]! ^ tLo[i6]! ^ tLo[i5]! ^ tLo[i4]! ^ tLo[i3]! ^ tLo[i2]! ^ tLo[i1]! ^ tLo[i0]!;
          hi =
            tHi[i7]! ^ tHi[i6]! ^ tHi[i5]! ^ tHi[i4]! ^ tHi[i3]! ^ tHi[i2]! ^ tHi[i1]! ^ tHi[i0]!;
        }
        i += words * 8;
      }
    }
    while (i < n) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ tLo[idx]!;
      hi = (hi >>> 8) ^ tHi[idx]!;
      i++;
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** The CRC so far as 8 big-endian bytes (Go's Sum(nil)); the state is not reset. */
  digest(): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE(~this.hi >>> 0, 0);
    out.writeUInt32BE(~this.lo >>> 0, 4);
    return out;
  }
}

/** One-shot CRC-64/GO-ISO of `data`, 8 bytes big-endian. */
export function crc64(data: Uint8Array): Buffer {
  const c = new Crc64();
  c.update(data);
  return c.digest();
}
