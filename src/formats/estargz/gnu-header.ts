/**
 * A tar header as Go's archive/tar writes it when the header it was given says FormatGNU
 * (`writeGNUHeader`): what the eStargz writer emits for every entry it read from a GNU-format
 * tar, since it passes each header it read, format included, back to the writer. Long names and
 * link targets go into `././@LongLink` entries ('L', 'K'); numbers that do not fit in octal are
 * written base-256; strings are copied as bytes and truncated. GNU cannot carry xattrs or NUL
 * bytes: such an entry cannot come out of a GNU tar, so asking for one throws.
 */
import { UnsupportedError } from "../../errors.js";
import { BLOCK_SIZE, blockPadding, computeChecksums, F } from "../tar/block.js";
import type { TarHeaderInit } from "../tar/writer.js";

const LONG_LINK = "././@LongLink";

function fitsInOctal(width: number, x: number): boolean {
  return x >= 0 && (width >= 22 || x < 8 ** (width - 1));
}

/** Go's formatter.formatString on bytes (truncating; a cut name may not end in "/"). */
function putBytes(block: Buffer, f: readonly [number, number], bytes: Buffer): void {
  const [off, len] = f;
  bytes.copy(block, off, 0, Math.min(len, bytes.length));
  if (bytes.length < len) block[off + bytes.length] = 0;
  if (bytes.length > len && block[off + len - 1] === 0x2f) {
    let n = len - 1;
    while (n > 0 && bytes[n - 1] === 0x2f) n--;
    block[off + n] = 0;
  }
}

function putOctal(block: Buffer, f: readonly [number, number], x: number): void {
  const v = fitsInOctal(f[1], x) ? x : 0;
  putBytes(block, f, Buffer.from(v.toString(8).padStart(f[1] - 1, "0"), "latin1"));
}

/** Go's formatter.formatNumeric: octal when it fits, else base-256 (two's complement, high bit set). */
function putNumeric(block: Buffer, f: readonly [number, number], x: number): void {
  if (fitsInOctal(f[1], x)) {
    putOctal(block, f, x);
    return;
  }
  const [off, len] = f;
  let v = BigInt(x);
  const bits = BigInt(8 * (len - 1));
  if (len < 9 && (v < -(1n << bits) || v >= 1n << bits)) {
    throw new UnsupportedError(`tar (GNU): ${x} does not fit a ${len}-byte field`);
  }
  for (let i = len - 1; i >= 0; i--) {
    block[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  block[off] = (block[off] as number) | 0x80;
}

function finishGnu(block: Buffer): Buffer {
  block.write("ustar ", F.magic[0], "latin1");
  block.write(" \0", F.version[0], "latin1");
  const [sum] = computeChecksums(block);
  putBytes(block, [F.chksum[0], 7], Buffer.from(sum.toString(8).padStart(6, "0"), "latin1"));
  block[F.chksum[0] + 7] = 0x20;
  return block;
}

/** Go's writeRawFile: a header-only special entry carrying `data` (here a long name). */
function longLinkEntry(flag: "L" | "K", value: Buffer): Buffer {
  const data = Buffer.concat([value, Buffer.from([0])]);
  const block = Buffer.alloc(BLOCK_SIZE);
  block[F.typeflag[0]] = flag.charCodeAt(0);
  putBytes(block, F.name, Buffer.from(LONG_LINK, "latin1"));
  putOctal(block, F.mode, 0);
  putOctal(block, F.uid, 0);
  putOctal(block, F.gid, 0);
  putOctal(block, F.size, data.length);
  putOctal(block, F.mtime, 0);
  return Buffer.concat([finishGnu(block), data, Buffer.alloc(blockPadding(data.length))]);
}

/** The GNU-format header blocks of one entry (long-name entries first, when needed). */
export function encodeGnuHeader(h: TarHeaderInit): Buffer {
  const name = Buffer.from(h.name, "utf8");
  const linkname = Buffer.from(h.linkname ?? "", "utf8");
  const uname = Buffer.from(h.uname ?? "", "utf8");
  const gname = Buffer.from(h.gname ?? "", "utf8");
  for (const [what, b] of [
    ["name", name],
    ["linkname", linkname],
    ["uname", uname],
    ["gname", gname],
  ] as const) {
    if (b.includes(0)) throw new UnsupportedError(`tar (GNU): ${what} contains NUL`);
  }
  if (uname.length > 32 || gname.length > 32) {
    throw new UnsupportedError("tar (GNU): user or group name longer than 32 bytes");
  }
  const xattrs = h.xattrs instanceof Map ? h.xattrs.size : Object.keys(h.xattrs ?? {}).length;
  if (xattrs > 0) throw new UnsupportedError("tar (GNU): xattrs need PAX");
  const mtime = typeof h.mtime === "number" ? h.mtime : (h.mtime?.sec ?? 0);
  const parts: Buffer[] = [];
  if (name.length > 100) parts.push(longLinkEntry("L", name));
  if (linkname.length > 100) parts.push(longLinkEntry("K", linkname));
  const block = Buffer.alloc(BLOCK_SIZE);
  block[F.typeflag[0]] = h.typeflag.charCodeAt(0);
  putBytes(block, F.name, name);
  putBytes(block, F.linkname, linkname);
  putNumeric(block, F.mode, h.mode ?? 0);
  putNumeric(block, F.uid, h.uid ?? 0);
  putNumeric(block, F.gid, h.gid ?? 0);
  putNumeric(block, F.size, h.size ?? 0);
  putNumeric(block, F.mtime, mtime);
  putBytes(block, F.uname, uname);
  putBytes(block, F.gname, gname);
  putNumeric(block, F.devmajor, h.devmajor ?? 0);
  putNumeric(block, F.devminor, h.devminor ?? 0);
  parts.push(finishGnu(block));
  return Buffer.concat(parts);
}
