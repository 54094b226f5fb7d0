/**
 * The WebAssembly build of the codec's two per-byte loops (kernels.wat): CRC-64 and the
 * chunker's rolling checksum. Instantiated on first use (synchronously: the module is 600
 * bytes); `CHUNKPULL_WASM=0` or an engine without WebAssembly selects the JavaScript loops,
 * which stay as the reference the tests compare against.
 */
import { KERNELS_WASM_BASE64 } from "./kernels-wasm.js";

/** Byte offsets in the module's memory (see kernels.wat). */
export const CRC_STATE = 0;
export const ROLL_STATE = 16;
export const ROLL_WINDOW = 64;
export const CRC_TABLES = 1024;
export const INPUT = 65536;
/** Tables of the slicing-by-16 CRC loop. */
export const CRC_TABLE_COUNT = 16;
const PAGE = 65536;

export interface Kernels {
  /** CRC-64 over `len` bytes at `ptr`; the register is read from and written to CRC_STATE. */
  crc64(ptr: number, len: number): void;
  /** Rolls input bytes [from, n) (see kernels.wat); state at ROLL_STATE / ROLL_WINDOW. */
  rollUntil(from: number, n: number): number;
  /** Views of the memory; valid until the next `reserve`. */
  bytes: Uint8Array;
  words: Int32Array;
  /** Makes room for `n` input bytes at INPUT (may replace `bytes` and `words`). */
  reserve(n: number): void;
}

/** The little of the WebAssembly JS API used here (the project's TS libs do not declare it). */
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

let loaded: Kernels | null | undefined;

/** The kernels, or undefined when WebAssembly is unavailable or disabled. */
export function wasmKernels(): Kernels | undefined {
  if (loaded === undefined) loaded = load();
  return loaded ?? undefined;
}

/**
 * Fills the module's CRC tables from T0 (the byte table, as uint32 halves): T[k][b] is the CRC
 * of byte b followed by k zero bytes, T[k][b] = (T[k-1][b] >> 8) ^ T0[T[k-1][b] & 0xff].
 */
let tablesFilled = false;
export function fillCrcTables(lo: Uint32Array, hi: Uint32Array): void {
  const k = wasmKernels();
  if (!k || tablesFilled) return;
  const t = new BigUint64Array(k.bytes.buffer, CRC_TABLES, CRC_TABLE_COUNT * 256);
  for (let b = 0; b < 256; b++) t[b] = (BigInt(hi[b]!) << 32n) | BigInt(lo[b]!);
  for (let j = 1; j < CRC_TABLE_COUNT; j++)
    for (let b = 0; b < 256; b++) {
      const prev = t[(j - 1) * 256 + b]!;
      t[j * 256 + b] = (prev >> 8n) ^ t[Number(prev & 0xffn)]!;
    }
  tablesFilled = true;
}

function load(): Kernels | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (process.env.CHUNKPULL_WASM === "0" || !wasm) return null;
  // The module stores i64 and i32 words little-endian; the views below assume a host that does too.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) return null;
  try {
    const mod = new wasm.Module(Buffer.from(KERNELS_WASM_BASE64, "base64"));
    const inst = new wasm.Instance(mod, {});
    const ex = inst.exports as {
      memory: WasmMemory;
      crc64(ptr: number, len: number): void;
      rollUntil(from: number, n: number): number;
    };
    const k: Kernels = {
      crc64: ex.crc64,
      rollUntil: ex.rollUntil,
      bytes: new Uint8Array(ex.memory.buffer),
      words: new Int32Array(ex.memory.buffer),
      reserve(n) {
        const need = INPUT + n - ex.memory.buffer.byteLength;
        if (need <= 0) return;
        ex.memory.grow(Math.ceil(need / PAGE));
        k.bytes = new Uint8Array(ex.memory.buffer);
        k.words = new Int32Array(ex.memory.buffer);
      },
    };
    return k;
  } catch {
    return null;
  }
}
