/**
 * The 512-byte tar header block: field layout, Go archive/tar's numeric and string parsing
 * (strconv.go) and format detection with checksum verification (format.go getFormat).
 */

export const BLOCK_SIZE = 512;

/** Most extension data (PAX, GNU long name/link) one header may carry (Go: maxSpecialFileSize). */
export const MAX_EXTENSION_SIZE = 1 << 20;
/** Most raw header bytes (extensions included) before one entry. */
export const MAX_RAW_PER_ENTRY = 8 << 20;

/** [offset, length] of every field we read or write. */
export const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
  // STAR: prefix is shorter, followed by atime/ctime; trailer "tar\0" at 508.
  starPrefix: [345, 131],
  starAtime: [476, 12],
  starCtime: [488, 12],
  starTrailer: [508, 4],
  // GNU: atime/ctime where USTAR has its prefix.
  gnuAtime: [345, 12],
  gnuCtime: [357, 12],
} as const satisfies Record<string, readonly [number, number]>;

export type BlockFormat = "v7" | "ustar" | "gnu" | "star" | "unknown";

export function field(block: Uint8Array, f: readonly [number, number]): Buffer {
  return Buffer.from(block.buffer, block.byteOffset + f[0], f[1]);
}

/** Go's blockPadding: bytes needed to round `n` up to a multiple of 512. */
export function blockPadding(n: number): number {
  return (BLOCK_SIZE - (n % BLOCK_SIZE)) % BLOCK_SIZE;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK_SIZE; i++) if (block[i] !== 0) return false;
  return true;
}

/** Go's cString/parseString: the bytes up to the first NUL. */
export function cString(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul === -1 ? b : b.subarray(0, nul);
}

/** Thrown by the numeric parsers; callers turn it into a FormatError with context. */
export class FieldError extends Error {}

function isTrimByte(c: number): boolean {
  return c === 0x20 || c === 0;
}

/**
 * Go's parser.parseOctal over `b[start, end)`: trim spaces and NULs both ends, cut at NUL,
 * parse base 8. Works on offsets so that header fields need no Buffer view each.
 */
export function parseOctalAt(b: Uint8Array, start: number, end: number): number {
  while (start < end && isTrimByte(b[start]!)) start++;
  while (end > start && isTrimByte(b[end - 1]!)) end--;
  if (start === end) return 0;
  let x = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 0) {
      if (i === start) throw new FieldError("empty octal field");
      break;
    }
    if (c < 0x30 || c > 0x37) throw new FieldError(`invalid octal digit 0x${c.toString(16)}`);
    x = x * 8 + (c - 0x30);
  }
  if (!Number.isSafeInteger(x)) throw new FieldError("octal value too large");
  return x;
}

/** Go's parser.parseOctal: trim spaces and NULs both ends, cut at NUL, parse base 8. */
export function parseOctal(b: Buffer): number {
  return parseOctalAt(b, 0, b.length);
}

/** Go's parser.parseNumeric over `b[start, end)`: base-256 (two's complement, high bit set) or octal. */
export function parseNumericAt(b: Uint8Array, start: number, end: number): number {
  if (end > start && (b[start]! & 0x80) !== 0) {
    const inv = (b[start]! & 0x40) !== 0 ? 0xff : 0;
    let x = 0n;
    for (let i = start; i < end; i++) {
      let c = b[i]! ^ inv;
      if (i === start) c &= 0x7f;
      if (x >> 56n > 0n) throw new FieldError("base-256 value overflows int64");
      x = (x << 8n) | BigInt(c);
    }
    if (x >> 63n > 0n) throw new FieldError("base-256 value overflows int64");
    const v = inv === 0xff ? -x - 1n : x;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new FieldError("base-256 value beyond 2^53");
    }
    return Number(v);
  }
  return parseOctalAt(b, start, end);
}

/** Go's parser.parseNumeric: base-256 (two's complement, high bit set) or octal. */
export function parseNumeric(b: Buffer): number {
  return parseNumericAt(b, 0, b.length);
}

/** A numeric header field (Go parseNumeric), read in place. */
export function numericField(block: Uint8Array, f: readonly [number, number]): number {
  return parseNumericAt(block, f[0], f[0] + f[1]);
}

/** A string header field (Go parseString: up to the first NUL) decoded as UTF-8, read in place. */
export function stringField(block: Buffer, f: readonly [number, number]): string {
  const end = f[0] + f[1];
  let i = f[0];
  while (i < end && block[i] !== 0) i++;
  return i === f[0] ? "" : block.toString("utf8", f[0], i);
}

/** Unsigned and signed sums of the block with the checksum field taken as spaces. */
export function computeChecksums(block: Uint8Array): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += c;
    signed += c >= 0x80 ? c - 256 : c;
  }
  return [unsigned, signed];
}

/** The unsigned sum alone (what every writer stores), without a branch per byte. */
function unsignedChecksum(block: Uint8Array): number {
  let sum = 8 * 0x20; // the checksum field itself counts as spaces
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < BLOCK_SIZE; i++) sum += block[i]!;
  return sum;
}

function fieldEquals(block: Uint8Array, f: readonly [number, number], s: string): boolean {
  for (let i = 0; i < f[1]; i++) if (block[f[0] + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** Go's block.getFormat: "unknown" when the checksum does not verify. */
export function detectFormat(block: Uint8Array): BlockFormat {
  let stored: number;
  try {
    stored = parseOctalAt(block, F.chksum[0], F.chksum[0] + F.chksum[1]);
  } catch {
    return "unknown";
  }
  if (stored !== unsignedChecksum(block)) {
    const [, signed] = computeChecksums(block);
    if (stored !== signed) return "unknown";
  }
  if (fieldEquals(block, F.magic, "ustar\0")) {
    return fieldEquals(block, F.starTrailer, "tar\0") ? "star" : "ustar";
  }
  if (fieldEquals(block, F.magic, "ustar ") && fieldEquals(block, F.version, " \0")) return "gnu";
  return "v7";
}
