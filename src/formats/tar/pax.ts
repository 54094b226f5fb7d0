/**
 * PAX extended header records (Go archive/tar parsePAX / parsePAXRecord / parsePAXTime and the
 * writer's formatPAXRecord / formatPAXTime). Values are kept as raw bytes: xattr values are
 * binary and paths are byte strings.
 */
import type { TarTime } from "./types.js";

export const PAX_PATH = "path";
export const PAX_LINKPATH = "linkpath";
export const PAX_SIZE = "size";
export const PAX_UID = "uid";
export const PAX_GID = "gid";
export const PAX_UNAME = "uname";
export const PAX_GNAME = "gname";
export const PAX_MTIME = "mtime";
export const PAX_ATIME = "atime";
export const PAX_CTIME = "ctime";
export const PAX_SCHILY_XATTR = "SCHILY.xattr.";
export const PAX_GNU_SPARSE_MAP = "GNU.sparse.map";
const PAX_GNU_SPARSE_OFFSET = "GNU.sparse.offset";
const PAX_GNU_SPARSE_NUMBYTES = "GNU.sparse.numbytes";

/** Why a record set was rejected (the caller adds the archive offset). */
export class PaxError extends Error {}

const DECIMAL_RE = /^[+-]?[0-9]+$/;

/** Go's strconv.ParseInt(s, 10, 64), limited to safe integers. */
export function parseDecimal(s: string, what: string): number {
  if (!DECIMAL_RE.test(s)) throw new PaxError(`${what}: invalid decimal ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new PaxError(`${what}: ${s} is beyond 2^53`);
  return n;
}

/**
 * Parse the data of a PAX `x`/`g` header into records (key -> raw value), later records
 * overriding earlier ones. GNU sparse 0.0 offset/numbytes pairs are folded into
 * "GNU.sparse.map" like Go does.
 */
export function parsePaxRecords(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  const sparseMap: string[] = [];
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp === -1) throw new PaxError(`record at byte ${pos} has no length field`);
    const lenStr = data.toString("latin1", pos, sp);
    if (!DECIMAL_RE.test(lenStr)) throw new PaxError(`record at byte ${pos}: bad length`);
    const n = Number(lenStr);
    if (n < 5 || n > data.length - pos) {
      throw new PaxError(`record at byte ${pos}: length ${lenStr} out of range`);
    }
    const end = pos + n;
    if (end - 1 <= sp || data[end - 1] !== 0x0a) {
      throw new PaxError(`record at byte ${pos} is not terminated by a newline`);
    }
    const eq = data.indexOf(0x3d, sp + 1);
    if (eq === -1 || eq >= end - 1) throw new PaxError(`record at byte ${pos} has no '='`);
    const keyBytes = data.subarray(sp + 1, eq);
    const value = data.subarray(eq + 1, end - 1);
    const key = keyBytes.toString("utf8");
    if (keyBytes.length === 0) throw new PaxError(`record at byte ${pos} has an empty key`);
    const nulChecked =
      key === PAX_PATH || key === PAX_LINKPATH || key === PAX_UNAME || key === PAX_GNAME
        ? value
        : keyBytes;
    if (nulChecked.includes(0)) throw new PaxError(`record ${JSON.stringify(key)} contains NUL`);
    if (key === PAX_GNU_SPARSE_OFFSET || key === PAX_GNU_SPARSE_NUMBYTES) {
      const expected = sparseMap.length % 2 === 0 ? PAX_GNU_SPARSE_OFFSET : PAX_GNU_SPARSE_NUMBYTES;
      if (key !== expected || value.includes(0x2c)) {
        throw new PaxError(`GNU sparse record ${key} out of order or malformed`);
      }
      sparseMap.push(value.toString("latin1"));
    } else {
      records.set(key, Buffer.from(value));
    }
    pos = end;
  }
  if (sparseMap.length > 0) records.set(PAX_GNU_SPARSE_MAP, Buffer.from(sparseMap.join(",")));
  return records;
}

/** Go's parsePAXTime ("%d[.%d]", fraction right-padded/truncated to 9 digits), normalised. */
export function parsePaxTime(s: string): TarTime {
  const dot = s.indexOf(".");
  const secStr = dot === -1 ? s : s.slice(0, dot);
  const fracStr = dot === -1 ? "" : s.slice(dot + 1);
  const sec = parseDecimal(secStr, "PAX time");
  if (fracStr.length === 0) return { sec, nsec: 0 };
  if (!/^[0-9]+$/.test(fracStr)) throw new PaxError(`PAX time ${JSON.stringify(s)}: bad fraction`);
  const nsec = Number(fracStr.slice(0, 9).padEnd(9, "0"));
  if (secStr.startsWith("-") && nsec > 0) {
    // Go: time.Unix(secs, -nsecs), i.e. the fraction moves the instant further into the past.
    return { sec: sec - 1, nsec: 1_000_000_000 - nsec };
  }
  return { sec, nsec };
}

/** Go's formatPAXTime: seconds, plus a fraction with trailing zeros removed when nsec != 0. */
export function formatPaxTime(t: TarTime): string {
  if (t.nsec === 0) return String(t.sec);
  if (t.sec < 0) {
    // Go writes -(secs+1) and 1e9-nsec so that "-1.5" means 1.5 s before the epoch.
    const s = -(t.sec + 1);
    const ns = 1_000_000_000 - t.nsec;
    return ("-" + s + "." + String(ns).padStart(9, "0")).replace(/0+$/, "");
  }
  return (t.sec + "." + String(t.nsec).padStart(9, "0")).replace(/0+$/, "");
}

/** Go's formatPAXRecord: "<len> <key>=<value>\n" where <len> counts itself (bytes). */
export function formatPaxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(" " + key + "="), value, Buffer.from("\n")]);
  let size = body.length + String(body.length).length;
  if (String(size).length + body.length !== size) size = String(size).length + body.length;
  return Buffer.concat([Buffer.from(String(size)), body]);
}
