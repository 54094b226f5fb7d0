/**
 * Turning a header block plus the extension records that preceded it (PAX `x`, GNU `L`/`K`)
 * into a TarHeader, field by field as Go archive/tar's readHeader + mergePAX do.
 */
import {
  type BlockFormat,
  cString,
  F,
  FieldError,
  field,
  numericField,
  stringField,
} from "./block.js";
import {
  PAX_ATIME,
  PAX_CTIME,
  PAX_GID,
  PAX_GNAME,
  PAX_GNU_SPARSE_MAP,
  PAX_LINKPATH,
  PAX_MTIME,
  PAX_PATH,
  PAX_SCHILY_XATTR,
  PAX_SIZE,
  PAX_UID,
  PAX_UNAME,
  parseDecimal,
  parsePaxTime,
} from "./pax.js";
import type { TarHeader, TarTime } from "./types.js";

/** Types that never have a data section, whatever their size field says (Go isHeaderOnlyType). */
export function isHeaderOnlyType(typeflag: string): boolean {
  return typeflag >= "1" && typeflag <= "6" && typeflag.length === 1;
}

/** Extensions collected before the real header. */
export interface Extensions {
  pax?: Map<string, Buffer>;
  longName?: Buffer;
  longLink?: Buffer;
}

function isAscii(b: Buffer): boolean {
  for (const c of b) if (c >= 0x80) return false;
  return true;
}

function joinPrefix(prefix: Buffer, name: Buffer): Buffer {
  return prefix.length > 0 ? Buffer.concat([prefix, Buffer.from("/"), name]) : name;
}

const NO_PREFIX = Buffer.alloc(0);

/**
 * Fields of one header block, before extensions apply (Go readHeader). Throws FieldError.
 * Fields are read in place (no Buffer view per field: this runs once per tar entry).
 */
export function parseBlock(block: Buffer, format: BlockFormat): TarHeader {
  const h: TarHeader = {
    typeflag: String.fromCharCode(block[F.typeflag[0]]!),
    name: "",
    nameBytes: cString(field(block, F.name)),
    linkname: stringField(block, F.linkname),
    mode: numericField(block, F.mode),
    uid: numericField(block, F.uid),
    gid: numericField(block, F.gid),
    size: 0,
    declaredSize: numericField(block, F.size),
    mtime: { sec: numericField(block, F.mtime), nsec: 0 },
    uname: "",
    gname: "",
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    pax: new Map(),
    format: format === "gnu" ? "gnu" : format === "v7" ? "v7" : "ustar",
  };
  if (format !== "v7") {
    h.uname = stringField(block, F.uname);
    h.gname = stringField(block, F.gname);
    h.devmajor = numericField(block, F.devmajor);
    h.devminor = numericField(block, F.devminor);
    let prefix: Buffer = NO_PREFIX;
    if (format === "ustar") {
      if (block[F.prefix[0]] !== 0) prefix = cString(field(block, F.prefix));
    } else if (format === "star") {
      prefix = cString(field(block, F.starPrefix));
      h.atime = { sec: numericField(block, F.starAtime), nsec: 0 };
      h.ctime = { sec: numericField(block, F.starCtime), nsec: 0 };
    } else if (format === "gnu") {
      // GNU atime/ctime only when set; pre-Go1.8 writers put a USTAR prefix there instead, so
      // an unparsable value falls back to reading the prefix (golang.org/issue/12594).
      try {
        if (block[F.gnuAtime[0]] !== 0) h.atime = { sec: numericField(block, F.gnuAtime), nsec: 0 };
        if (block[F.gnuCtime[0]] !== 0) h.ctime = { sec: numericField(block, F.gnuCtime), nsec: 0 };
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
        delete h.atime;
        delete h.ctime;
        const p = cString(field(block, F.prefix));
        if (isAscii(p)) prefix = p;
      }
    }
    h.nameBytes = joinPrefix(prefix, h.nameBytes);
  }
  h.name = h.nameBytes.toString("utf8");
  return h;
}

function setTime(h: TarHeader, key: string, t: TarTime): void {
  if (key === PAX_MTIME) h.mtime = t;
  else if (key === PAX_ATIME) h.atime = t;
  else h.ctime = t;
}

/**
 * Apply PAX records like Go's mergePAX: empty values keep the header value. Unlike Go's
 * hdr.Xattrs, `xattrs` also keeps SCHILY.xattr records with empty values, because c/storage
 * builds TOC xattrs from hdr.PAXRecords, where they are present (spec §3.2 field 13).
 */
export function mergePax(h: TarHeader, records: Map<string, Buffer>): void {
  for (const [key, raw] of records) {
    const value = raw.toString("utf8");
    h.pax.set(key, value);
    if (key.startsWith(PAX_SCHILY_XATTR)) h.xattrs.set(key.slice(PAX_SCHILY_XATTR.length), raw);
    if (raw.length === 0) continue;
    switch (key) {
      case PAX_PATH:
        h.nameBytes = raw;
        h.name = value;
        break;
      case PAX_LINKPATH:
        h.linkname = value;
        break;
      case PAX_UNAME:
        h.uname = value;
        break;
      case PAX_GNAME:
        h.gname = value;
        break;
      case PAX_UID:
        h.uid = parseDecimal(value, "PAX uid");
        break;
      case PAX_GID:
        h.gid = parseDecimal(value, "PAX gid");
        break;
      case PAX_SIZE:
        h.declaredSize = parseDecimal(value, "PAX size");
        break;
      case PAX_MTIME:
      case PAX_ATIME:
      case PAX_CTIME:
        setTime(h, key, parsePaxTime(value));
        break;
    }
  }
}

/** Go readGNUSparsePAXHeaders' detection rule (without reading the map). */
function hasGnuSparsePax(pax: Map<string, string>): boolean {
  const major = pax.get("GNU.sparse.major") ?? "";
  const minor = pax.get("GNU.sparse.minor") ?? "";
  if (major === "0" && (minor === "0" || minor === "1")) return true;
  if (major === "1" && minor === "0") return true;
  if (major !== "" || minor !== "") return false;
  return (pax.get(PAX_GNU_SPARSE_MAP) ?? "") !== "";
}

/**
 * The final header of a regular entry: block fields, then PAX records, then GNU long
 * name/link, then typeflag normalisation and size rules. Throws FieldError / PaxError.
 */
export function finishHeader(h: TarHeader, ext: Extensions): TarHeader {
  if (ext.pax) {
    mergePax(h, ext.pax);
    h.format = "pax";
  }
  if (ext.longName && ext.longName.length > 0) {
    h.nameBytes = ext.longName;
    h.name = ext.longName.toString("utf8");
    h.format = "gnu";
  }
  if (ext.longLink && ext.longLink.length > 0) {
    h.linkname = ext.longLink.toString("utf8");
    h.format = "gnu";
  }
  if (h.typeflag === "\0") h.typeflag = h.name.endsWith("/") ? "5" : "0";
  if (isHeaderOnlyType(h.typeflag)) {
    h.size = 0;
  } else {
    if (h.declaredSize < 0) throw new FieldError(`negative size ${h.declaredSize}`);
    h.size = h.declaredSize;
  }
  if (h.typeflag === "S" || hasGnuSparsePax(h.pax)) h.sparse = true;
  return h;
}

/** A PAX global header as Go's reader returns it: name, typeflag and records only, size 0. */
export function globalHeader(block: TarHeader, records: Map<string, Buffer>): TarHeader {
  const scratch: TarHeader = { ...block, xattrs: new Map(), pax: new Map() };
  try {
    mergePax(scratch, records);
  } catch {
    // Go ignores mergePAX errors for global headers.
  }
  return {
    typeflag: "g",
    name: scratch.name,
    nameBytes: scratch.nameBytes,
    linkname: "",
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0,
    declaredSize: 0,
    mtime: { sec: 0, nsec: 0 },
    uname: "",
    gname: "",
    devmajor: 0,
    devminor: 0,
    xattrs: scratch.xattrs,
    pax: scratch.pax,
    format: "pax",
  };
}
