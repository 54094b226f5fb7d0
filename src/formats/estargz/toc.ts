/**
 * The eStargz TOC (`stargz.index.json`, spec estargz.md §3): types mirroring the Go JTOC/TOCEntry
 * structs, and a parser that validates everything the reader later relies on: entry shapes,
 * names (no `..`, no NUL), data offsets (inside the blob, never going backwards) and chunk
 * lists (contiguous, covering the file exactly, each chunk verifiable).
 */
import { type Digest, parseDigest } from "../../digest.js";
import { FormatError } from "../../errors.js";
import { checkLayerTree } from "../tree-rules.js";

export type TocEntryType =
  | "dir"
  | "reg"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo"
  | "chunk";

const ENTRY_TYPES = new Set<string>([
  "dir",
  "reg",
  "symlink",
  "hardlink",
  "char",
  "block",
  "fifo",
  "chunk",
]);

/** One TOC entry, field for field as the Go struct (serialization order = declaration order). */
export interface TocEntry {
  name: string;
  type: TocEntryType;
  size?: number;
  /** RFC 3339, UTC, whole seconds. */
  modtime?: string;
  linkName?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  userName?: string;
  groupName?: string;
  offset?: number;
  innerOffset?: number;
  devMajor?: number;
  devMinor?: number;
  /** xattr name -> value as standard padded base64 (Go []byte JSON encoding). */
  xattrs?: Record<string, string>;
  digest?: string;
  chunkOffset?: number;
  chunkSize?: number;
  chunkDigest?: string;
}

export interface Toc {
  version: number;
  entries: TocEntry[];
}

/** Landmark files drive prefetch; they are TOC entries but not layer content users care about. */
export const NO_PREFETCH_LANDMARK = ".no.prefetch.landmark";
export const PREFETCH_LANDMARK = ".prefetch.landmark";
export const TOC_TAR_NAME = "stargz.index.json";
/** sha256 of the single landmark byte 0x0f. */
export const LANDMARK_DIGEST: Digest =
  "sha256:dc0e9c3658a1a3ed1ec94274d8b19925c93e1abb7ddba294923ad9bde30f8cb8";

const INT_FIELDS = [
  "size",
  "mode",
  "uid",
  "gid",
  "offset",
  "innerOffset",
  "devMajor",
  "devMinor",
  "chunkOffset",
  "chunkSize",
] as const;
const STRING_FIELDS = [
  "modtime",
  "linkName",
  "userName",
  "groupName",
  "digest",
  "chunkDigest",
] as const;
/** A valid sha256 digest passes one cheap test; anything else gets parseDigest's full check. */
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The normalised form of a name with nothing to drop or refuse (no empty, `.` or `..` segment
 * except one leading and one trailing `/`, no NUL), which is nearly every name; else undefined.
 */
function plainName(name: string): string | undefined {
  const n = name.length;
  const start = name.charCodeAt(0) === 0x2f ? 1 : 0;
  const end = n > start && name.charCodeAt(n - 1) === 0x2f ? n - 1 : n;
  if (end <= start || name.includes("\0")) return undefined;
  let seg = start;
  for (let i = start; i <= end; i++) {
    if (i < end && name.charCodeAt(i) !== 0x2f) continue;
    const len = i - seg;
    if (len === 0) return undefined;
    if (
      name.charCodeAt(seg) === 0x2e &&
      (len === 1 || (len === 2 && name.charCodeAt(seg + 1) === 0x2e))
    )
      return undefined;
    seg = i + 1;
  }
  return start === 0 && end === n ? name : name.slice(start, end);
}

/**
 * `clean("/" + name)` without the leading slash (upstream reader normalisation, spec §3.5), but
 * refusing what cleaning would silently hide: `..` components and NUL bytes.
 */
export function normalizeTocName(name: string, where: string | (() => string)): string {
  const plain = plainName(name);
  if (plain !== undefined) return plain;
  if (typeof where === "function") where = where();
  if (name.includes("\0")) throw new FormatError(`${where}: name contains a NUL byte`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) {
    throw new FormatError(`${where}: name ${JSON.stringify(name)} contains a ".." component`);
  }
  return parts.join("/");
}

/**
 * Parse the TOC JSON bytes. `dataEnd` = where the data members end (the TOC's blob offset).
 * Unknown keys (legacy `NumLink`, other formats' fields) are ignored but reported in `unknownKeys`.
 */
export function parseToc(json: Buffer, dataEnd: number, unknownKeys?: Set<string>): Toc {
  let raw: unknown;
  try {
    raw = JSON.parse(json.toString("utf8"));
  } catch (err) {
    throw new FormatError(`eStargz TOC is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!isObject(raw)) throw new FormatError("eStargz TOC: top level is not an object");
  if (raw.version !== 1) {
    throw new FormatError(`eStargz TOC: version ${JSON.stringify(raw.version)}, want 1`);
  }
  if (raw.entries !== null && raw.entries !== undefined && !Array.isArray(raw.entries)) {
    throw new FormatError("eStargz TOC: entries is not an array");
  }
  for (const key of Object.keys(raw)) {
    if (key !== "version" && key !== "entries") unknownKeys?.add(key);
  }
  const entries = ((raw.entries as unknown[] | null | undefined) ?? []).map((e, i) =>
    parseEntry(e, i, unknownKeys),
  );
  validateLayout(entries, dataEnd);
  checkLayerTree(
    entries
      .filter((e) => e.type !== "chunk")
      .map((e) => ({
        name: normalizeTocName(e.name, "eStargz TOC entry"),
        type: e.type,
        linkName:
          e.type === "hardlink" ? normalizeTocName(e.linkName ?? "", "hardlink target") : undefined,
      })),
    "eStargz TOC",
  );
  return { version: 1, entries };
}

const KNOWN_KEYS = new Set<string>(["name", "type", "xattrs", ...INT_FIELDS, ...STRING_FIELDS]);

function parseEntry(value: unknown, index: number, unknownKeys?: Set<string>): TocEntry {
  // Built only for an error message: a TOC has thousands of entries.
  const whereOf = () => `eStargz TOC entry ${index}`;
  if (!isObject(value)) throw new FormatError(`${whereOf()}: not an object`);
  if (typeof value.name !== "string") throw new FormatError(`${whereOf()}: name is not a string`);
  if (typeof value.type !== "string" || !ENTRY_TYPES.has(value.type)) {
    throw new FormatError(
      `${whereOf()} (${value.name}): unknown type ${JSON.stringify(value.type)}`,
    );
  }
  normalizeTocName(value.name, whereOf);
  if (unknownKeys) {
    for (const key of Object.keys(value)) if (!KNOWN_KEYS.has(key)) unknownKeys.add(key);
  }
  const entry: TocEntry = { name: value.name, type: value.type as TocEntryType };
  for (const key of INT_FIELDS) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw new FormatError(`${whereOf()} (${value.name}): ${key} ${JSON.stringify(v)} is invalid`);
    }
    entry[key] = v;
  }
  for (const key of STRING_FIELDS) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string")
      throw new FormatError(`${whereOf()} (${value.name}): ${key} not a string`);
    entry[key] = v;
  }
  for (const key of ["digest", "chunkDigest"] as const) {
    const d = entry[key];
    if (d && !(d.length === 71 && SHA256_DIGEST.test(d))) {
      parseDigest(d, `${whereOf()} (${value.name}) ${key}`);
    }
  }
  if (value.xattrs !== undefined && value.xattrs !== null) {
    if (!isObject(value.xattrs)) throw new FormatError(`${whereOf()}: xattrs is not an object`);
    const xattrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(value.xattrs)) {
      if (typeof v !== "string" || !BASE64.test(v)) {
        throw new FormatError(`${whereOf()} (${value.name}): xattr ${k} is not base64`);
      }
      xattrs[k] = v;
    }
    entry.xattrs = xattrs;
  }
  return entry;
}

/**
 * Structural rules across entries: every payload chunk has an offset inside [0, dataEnd), offsets
 * never decrease in archive order, and a chunked file is a `reg` followed by `chunk` entries that
 * tile [0, size) exactly. Fills no defaults: `chunkSpan` does that for readers.
 */
function validateLayout(entries: TocEntry[], dataEnd: number): void {
  let lastOffset = -1;
  let open: { name: string; size: number; next: number } | undefined;
  entries.forEach((e, i) => {
    const where = () => `eStargz TOC entry ${i} (${e.name})`;
    if (e.type === "chunk") {
      if (!open) throw new FormatError(`${where()}: chunk does not follow a chunked regular file`);
      if ((e.chunkOffset ?? 0) !== open.next) {
        throw new FormatError(
          `${where()}: chunkOffset ${e.chunkOffset ?? 0}, want ${open.next} (chunks of ${open.name} must be contiguous)`,
        );
      }
    } else if (open) {
      throw new FormatError(
        `${where()}: ${open.name} ends at ${open.next} of ${open.size} bytes, its chunks are missing`,
      );
    }
    const isData = e.type === "chunk" || (e.type === "reg" && (e.size ?? 0) > 0);
    if (!isData) {
      if (e.offset !== undefined && e.offset !== 0 && e.type !== "reg") {
        throw new FormatError(`${where()}: a ${e.type} entry has a data offset`);
      }
      return;
    }
    if (e.offset === undefined) throw new FormatError(`${where()}: payload has no offset`);
    if (e.offset >= dataEnd) {
      throw new FormatError(`${where()}: offset ${e.offset} is not before the TOC at ${dataEnd}`);
    }
    if (e.offset < lastOffset) {
      throw new FormatError(`${where()}: offset ${e.offset} goes back before ${lastOffset}`);
    }
    lastOffset = e.offset;
    if (e.type === "reg") {
      if (!e.digest) throw new FormatError(`${where()}: regular file without digest`);
      open = { name: e.name, size: e.size ?? 0, next: 0 };
    }
    const current = open as { name: string; size: number; next: number };
    const span = chunkSpan(e, current.size);
    if (span.end > current.size || span.size === 0) {
      throw new FormatError(
        `${where()}: chunk [${span.start}, ${span.end}) does not fit in ${current.size} bytes`,
      );
    }
    if (!e.chunkDigest && (e.type === "chunk" || span.end !== current.size)) {
      throw new FormatError(`${where()}: chunk without chunkDigest cannot be verified`);
    }
    current.next = span.end;
    if (current.next === current.size) open = undefined;
  });
  if (open) {
    throw new FormatError(
      `eStargz TOC: ${open.name} ends at ${open.next} of ${open.size} bytes, its chunks are missing`,
    );
  }
}

/**
 * The file range a data entry covers. A missing or zero chunkSize means "to the end of the file"
 * (spec §3.2 row 18); the Go writer also sets chunkSize == size on single-chunk files.
 */
export function chunkSpan(
  e: TocEntry,
  fileSize: number,
): { start: number; size: number; end: number } {
  const start = e.type === "chunk" ? (e.chunkOffset ?? 0) : 0;
  const size = e.chunkSize ? e.chunkSize : fileSize - start;
  return { start, size, end: start + size };
}

/** The digest that vouches for a data entry: chunkDigest, or (legacy, unchunked) the file digest. */
export function chunkDigestOf(e: TocEntry): Digest {
  return parseDigest(e.chunkDigest ?? e.digest, `eStargz TOC entry ${e.name} chunkDigest`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
