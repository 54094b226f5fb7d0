/**
 * Writing tar headers the way Go's archive/tar Writer.WriteHeader does when no format is
 * forced: a plain USTAR block when every field fits (long names split into prefix/name), else a
 * PAX `x` header ("<dir>/PaxHeaders.0/<base>") with sorted records for the fields that do not
 * fit, followed by a USTAR-format block with best-effort (ASCII, truncated) fields.
 * GNU-only encodings (base-256 mode or device numbers) are not produced: such headers throw.
 */
import { UsageError } from "../../errors.js";
import { BLOCK_SIZE, blockPadding, computeChecksums, F } from "./block.js";
import { goCleanPath } from "./path.js";
import { formatPaxRecord, formatPaxTime } from "./pax.js";
import type { TarTime } from "./types.js";

export interface TarHeaderInit {
  name: string;
  /** One character: "0" file, "1" hard link, "2" symlink, "3" char, "4" block, "5" dir, "6" fifo. */
  typeflag: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch, or a TarTime. Omitted = 0. */
  mtime?: number | TarTime;
  linkname?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  /** SCHILY.xattr.<name> PAX records (forces PAX). */
  xattrs?: Map<string, Buffer | string> | Record<string, string>;
  /**
   * Keep sub-second times (Go: Header.Format = FormatPAX): a non-zero mtime fraction and any
   * atime/ctime become PAX records. Off (Go's default): mtime is rounded to the second and
   * atime/ctime are dropped.
   */
  subSecondTimes?: boolean;
  atime?: TarTime;
  ctime?: TarTime;
}

/** 1024 zero bytes: the end-of-archive marker. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK_SIZE);

/** Zero bytes that pad `size` bytes of data to the next 512-byte boundary. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc(blockPadding(size));
}

function fitsInOctal(width: number, x: number): boolean {
  return x >= 0 && (width >= 22 || x < 8 ** (width - 1));
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Go's toASCII: drop every non-ASCII rune. */
function toAscii(s: string): string {
  let out = "";
  for (const ch of s) if (ch.charCodeAt(0) < 0x80) out += ch;
  return out;
}

/** Go's formatter.formatString: copy, NUL-terminate when shorter, truncate when longer. */
function putString(block: Buffer, f: readonly [number, number], s: string): void {
  const bytes = Buffer.from(s, "utf8");
  const [off, len] = f;
  bytes.copy(block, off, 0, Math.min(len, bytes.length));
  if (bytes.length < len) block[off + bytes.length] = 0;
  if (bytes.length > len && block[off + len - 1] === 0x2f) {
    // Go: a truncated name must not end in "/" or buggy readers take it for a directory.
    let n = len;
    while (n > 0 && bytes[n - 1] === 0x2f) n--;
    block[off + n] = 0;
  }
}

/** Go's formatter.formatOctal: zero-padded octal, NUL-terminated; 0 when it does not fit. */
function putOctal(block: Buffer, f: readonly [number, number], x: number): void {
  const v = fitsInOctal(f[1], x) ? x : 0;
  putString(block, f, v.toString(8).padStart(f[1] - 1, "0"));
}

function finishBlock(block: Buffer): Buffer {
  block.write("ustar\0", F.magic[0], "latin1");
  block.write("00", F.version[0], "latin1");
  const [sum] = computeChecksums(block);
  putString(block, [F.chksum[0], 7], sum.toString(8).padStart(6, "0"));
  block[F.chksum[0] + 7] = 0x20;
  return block;
}

/** Go's splitUSTARPath. */
function splitUstarPath(s: string): [string, string] | null {
  let length = s.length;
  if (length <= 100 || !isAscii(s)) return null;
  if (length > 156) length = 156;
  else if (s[length - 1] === "/") length--;
  const i = s.lastIndexOf("/", length - 1);
  const nlen = s.length - i - 1;
  if (i <= 0 || nlen > 100 || nlen === 0 || i > 155) return null;
  return [s.slice(0, i), s.slice(i + 1)];
}

function toTarTime(t: number | TarTime | undefined): TarTime {
  if (t === undefined) return { sec: 0, nsec: 0 };
  return typeof t === "number" ? { sec: t, nsec: 0 } : t;
}

interface Fields {
  name: string;
  linkname: string;
  uname: string;
  gname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

function mainBlock(h: TarHeaderInit, v: Fields, prefix: string, ascii: boolean): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);
  const str = (f: readonly [number, number], s: string) =>
    putString(block, f, ascii ? toAscii(s) : s);
  block[F.typeflag[0]] = h.typeflag.charCodeAt(0);
  str(F.name, v.name);
  str(F.linkname, v.linkname);
  putOctal(block, F.mode, v.mode);
  putOctal(block, F.uid, v.uid);
  putOctal(block, F.gid, v.gid);
  putOctal(block, F.size, v.size);
  putOctal(block, F.mtime, v.mtime);
  str(F.uname, v.uname);
  str(F.gname, v.gname);
  putOctal(block, F.devmajor, v.devmajor);
  putOctal(block, F.devminor, v.devminor);
  if (prefix !== "") putString(block, F.prefix, prefix);
  return finishBlock(block);
}

function paxHeaderName(name: string): string {
  const slash = name.lastIndexOf("/");
  const dir = name.slice(0, slash + 1);
  const file = name.slice(slash + 1);
  const joined = goCleanPath([dir, "PaxHeaders.0", file].filter((p) => p !== "").join("/"));
  return toAscii(joined).slice(0, 100).replace(/\/+$/, "");
}

function paxBlocks(name: string, records: Map<string, Buffer>): Buffer {
  const keys = [...records.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const data = Buffer.concat(keys.map((k) => formatPaxRecord(k, records.get(k)!)));
  const block = Buffer.alloc(BLOCK_SIZE);
  block[F.typeflag[0]] = "x".charCodeAt(0);
  putString(block, F.name, paxHeaderName(name));
  putOctal(block, F.mode, 0);
  putOctal(block, F.uid, 0);
  putOctal(block, F.gid, 0);
  putOctal(block, F.size, data.length);
  putOctal(block, F.mtime, 0);
  return Buffer.concat([finishBlock(block), data, tarPadding(data.length)]);
}

/**
 * Encode one entry's header (plus a PAX header in front when needed). The caller writes the
 * data, then tarPadding(size), and END_OF_ARCHIVE at the very end.
 */
export function encodeTarHeader(h: TarHeaderInit): Buffer {
  if (h.typeflag.length !== 1 || "xgLK".includes(h.typeflag)) {
    throw new UsageError(`tar: cannot encode typeflag ${JSON.stringify(h.typeflag)} as an entry`);
  }
  if (
    (h.typeflag === "0" || h.typeflag === "3" || h.typeflag === "4" || h.typeflag === "6") &&
    h.name.endsWith("/")
  ) {
    throw new UsageError(`tar: ${JSON.stringify(h.name)}: this entry type may not end with "/"`);
  }
  let mtime = toTarTime(h.mtime);
  if (!h.subSecondTimes && mtime.nsec !== 0) {
    mtime = { sec: mtime.sec + (mtime.nsec >= 500_000_000 ? 1 : 0), nsec: 0 };
  }
  const v: Fields = {
    name: h.name,
    linkname: h.linkname ?? "",
    uname: h.uname ?? "",
    gname: h.gname ?? "",
    mode: h.mode ?? 0,
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    size: h.size ?? 0,
    mtime: mtime.sec,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  };
  const pax = new Map<string, Buffer>();
  let ustarOk = true;
  const str = (s: string, width: number, key: string, splittable: boolean) => {
    if (s.includes("\0")) throw new UsageError(`tar: ${key} ${JSON.stringify(s)} contains NUL`);
    const tooLong = Buffer.byteLength(s) > width;
    if (!isAscii(s) || tooLong) {
      if (!splittable || splitUstarPath(s) === null) ustarOk = false;
      pax.set(key, Buffer.from(s, "utf8"));
    }
  };
  str(v.name, 100, "path", true);
  str(v.linkname, 100, "linkpath", false);
  str(v.uname, 32, "uname", false);
  str(v.gname, 32, "gname", false);
  const num = (n: number, width: number, key: string | null) => {
    if (!Number.isSafeInteger(n))
      throw new UsageError(`tar: ${key ?? "field"} ${n} is not an integer`);
    if (fitsInOctal(width, n)) return;
    if (key === null) throw new UsageError(`tar: ${n} does not fit a USTAR/PAX header field`);
    ustarOk = false;
    pax.set(key, Buffer.from(String(n)));
  };
  num(v.mode, 8, null);
  num(v.uid, 8, "uid");
  num(v.gid, 8, "gid");
  num(v.size, 12, "size");
  num(v.devmajor, 8, null);
  num(v.devminor, 8, null);
  if (!fitsInOctal(12, mtime.sec) || mtime.nsec !== 0) {
    if (!fitsInOctal(12, mtime.sec)) ustarOk = false;
    if (mtime.nsec !== 0) ustarOk = false;
    pax.set("mtime", Buffer.from(formatPaxTime(mtime)));
  }
  if (h.subSecondTimes) {
    for (const [key, t] of [["atime", h.atime] as const, ["ctime", h.ctime] as const]) {
      if (t === undefined) continue;
      ustarOk = false;
      pax.set(key, Buffer.from(formatPaxTime(t)));
    }
  }
  const xattrs = h.xattrs instanceof Map ? [...h.xattrs] : Object.entries(h.xattrs ?? {});
  for (const [k, val] of xattrs) {
    if (k.includes("=") || k.includes("\0"))
      throw new UsageError(`tar: invalid xattr name ${JSON.stringify(k)}`);
    ustarOk = false;
    pax.set("SCHILY.xattr." + k, typeof val === "string" ? Buffer.from(val, "utf8") : val);
  }
  if (ustarOk) {
    const split = splitUstarPath(v.name);
    if (split !== null) return mainBlock(h, { ...v, name: split[1] }, split[0], false);
    return mainBlock(h, v, "", false);
  }
  return Buffer.concat([paxBlocks(v.name, pax), mainBlock(h, v, "", true)]);
}
