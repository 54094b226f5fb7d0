/**
 * The zstd:chunked TOC ("manifest") JSON (spec §3): types and a parser that behaves like
 * c/storage's unmarshalToc (case-insensitive keys, unknown keys skipped, trailing data rejected,
 * empty-file digest default) plus the structural validation c/storage spreads over several
 * places (entry types, chunk folding, digests, path confinement). Byte ranges are checked by
 * `tocFiles` in toc-files.ts, which needs the TOC's blob offset.
 */
import { EMPTY_SHA256, parseDigest } from "../../digest.js";
import { FormatError, LimitExceededError } from "../../errors.js";
import { checkLayerTree, type TreeEntry } from "../tree-rules.js";
import { confinedPath } from "./path.js";
import { parseRfc3339 } from "./time.js";

export type TocEntryType =
  | "reg"
  | "chunk"
  | "dir"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo";

const ENTRY_TYPES: ReadonlySet<string> = new Set([
  "reg",
  "chunk",
  "dir",
  "symlink",
  "hardlink",
  "char",
  "block",
  "fifo",
]);

/**
 * One TOC entry (minimal.FileMetadata). Zero values mean "absent" exactly like Go's omitempty.
 * Times stay RFC 3339 strings as written (nanosecond precision, any zone) so that a parsed TOC
 * re-encodes byte for byte; compare them with time.ts helpers.
 */
export interface TocEntry {
  type: TocEntryType;
  name: string;
  linkName: string;
  mode: number;
  size: number;
  uid: number;
  gid: number;
  modtime?: string;
  accesstime?: string;
  changetime?: string;
  devMajor: number;
  devMinor: number;
  /** xattr name -> standard base64 of the raw value. */
  xattrs?: Record<string, string>;
  digest: string;
  offset: number;
  endOffset: number;
  chunkSize: number;
  chunkOffset: number;
  chunkDigest: string;
  chunkType: string;
}

export interface Toc {
  version: number;
  entries: TocEntry[];
  /** sha256 of the compressed tar-split payload; absent before c/storage v1.54. */
  tarSplitDigest?: string;
}

/** c/storage maxTocSize: larger TOCs (compressed or uncompressed) make it fall back. */
export const MAX_TOC_SIZE = 150 * 1024 * 1024;

export function emptyTocEntry(type: TocEntryType, name: string): TocEntry {
  return {
    type,
    name,
    linkName: "",
    mode: 0,
    size: 0,
    uid: 0,
    gid: 0,
    devMajor: 0,
    devMinor: 0,
    digest: "",
    offset: 0,
    endOffset: 0,
    chunkSize: 0,
    chunkOffset: 0,
    chunkDigest: "",
    chunkType: "",
  };
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Error context, built only when something is wrong (a TOC has thousands of entries). */
function fieldName(index: number, key: string): string {
  return `TOC entry ${index} field ${key}`;
}

function str(v: unknown, index: number, key: string): string {
  if (typeof v === "string") return v;
  if (v === null) return "";
  throw new FormatError(`${fieldName(index, key)}: expected a string`);
}

function int(v: unknown, index: number, key: string): number {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
  if (v === null) return 0;
  throw new FormatError(
    `${fieldName(index, key)}: expected a non-negative integer below 2^53, got ${v}`,
  );
}

// Most entries of a layer share one time: the last valid one needs no second check.
let lastValidTime = "";

function time(v: unknown, index: number, key: string): string | undefined {
  if (v === null) return undefined;
  const s = str(v, index, key);
  if (s !== lastValidTime) {
    parseRfc3339(s, fieldName(index, key));
    lastValidTime = s;
  }
  return s;
}

/**
 * TOC keys by field number. Go matches JSON keys to struct fields case-insensitively: the
 * spelling c/storage writes is found directly, any other spelling through its lower case.
 */
const FIELDS: ReadonlyMap<string, number> = new Map(
  [
    "type",
    "name",
    "linkName",
    "mode",
    "size",
    "uid",
    "gid",
    "modtime",
    "accesstime",
    "changetime",
    "devMajor",
    "devMinor",
    "xattrs",
    "digest",
    "offset",
    "endOffset",
    "chunkSize",
    "chunkOffset",
    "chunkDigest",
    "chunkType",
  ].flatMap((k, i) => [
    [k, i],
    [k.toLowerCase(), i],
  ]),
);

function fieldOf(key: string): number | undefined {
  return FIELDS.get(key) ?? FIELDS.get(key.toLowerCase());
}

function parseEntry(raw: unknown, index: number): TocEntry {
  if (!isObject(raw)) throw new FormatError(`TOC entry ${index}: not an object`);
  const e = emptyTocEntry("reg", "");
  let type = "";
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    switch (fieldOf(key)) {
      case 0:
        type = str(value, index, key);
        break;
      case 1:
        e.name = str(value, index, key);
        break;
      case 2:
        e.linkName = str(value, index, key);
        break;
      case 3:
        e.mode = int(value, index, key);
        break;
      case 4:
        e.size = int(value, index, key);
        break;
      case 5:
        e.uid = int(value, index, key);
        break;
      case 6:
        e.gid = int(value, index, key);
        break;
      case 7:
        e.modtime = time(value, index, key);
        break;
      case 8:
        e.accesstime = time(value, index, key);
        break;
      case 9:
        e.changetime = time(value, index, key);
        break;
      case 10:
        e.devMajor = int(value, index, key);
        break;
      case 11:
        e.devMinor = int(value, index, key);
        break;
      case 12:
        e.xattrs = parseXattrs(value, fieldName(index, key));
        break;
      case 13:
        e.digest = str(value, index, key);
        break;
      case 14:
        e.offset = int(value, index, key);
        break;
      case 15:
        e.endOffset = int(value, index, key);
        break;
      case 16:
        e.chunkSize = int(value, index, key);
        break;
      case 17:
        e.chunkOffset = int(value, index, key);
        break;
      case 18:
        e.chunkDigest = str(value, index, key);
        break;
      case 19:
        e.chunkType = str(value, index, key);
        break;
      default: // unknown keys are skipped, like unmarshalToc's iter.Skip()
    }
  }
  if (!ENTRY_TYPES.has(type)) {
    throw new FormatError(
      `TOC entry ${index} (${JSON.stringify(e.name)}): unknown type ${JSON.stringify(type)}`,
    );
  }
  e.type = type as TocEntryType;
  // c/storage b737dc6ca: an empty regular file without digest has the empty-input digest.
  if (e.type === "reg" && e.size === 0 && e.digest === "") e.digest = EMPTY_SHA256;
  return e;
}

function parseXattrs(value: unknown, what: string): Record<string, string> | undefined {
  if (value === null) return undefined;
  if (!isObject(value)) throw new FormatError(`${what}: expected an object`);
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === "string") out[k] = v;
    else if (v === null) out[k] = "";
    else throw new FormatError(`${what}[${JSON.stringify(k)}]: expected a string`);
  }
  return out;
}

/**
 * Parse and validate TOC JSON. JSON.parse already refuses trailing non-whitespace data, which is
 * c/storage's "unexpected data after manifest" rule (whitespace is fine for both).
 */
export function parseToc(json: Buffer): Toc {
  if (json.length > MAX_TOC_SIZE) {
    throw new LimitExceededError(`TOC JSON is ${json.length} bytes, limit is ${MAX_TOC_SIZE}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(json.toString("utf8"));
  } catch (err) {
    throw new FormatError(`TOC is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isObject(doc)) throw new FormatError("TOC: top level is not an object");
  const toc: Toc = { version: 0, entries: [] };
  for (const [key, value] of Object.entries(doc)) {
    switch (key.toLowerCase()) {
      case "version":
        if (value !== null && (typeof value !== "number" || !Number.isInteger(value))) {
          throw new FormatError("TOC version: expected an integer");
        }
        toc.version = value ?? 0;
        break;
      case "entries":
        if (value === null) toc.entries = [];
        else if (!Array.isArray(value)) throw new FormatError("TOC entries: expected an array");
        else toc.entries = value.map(parseEntry);
        break;
      case "tarsplitdigest": {
        if (value !== null && typeof value !== "string") {
          throw new FormatError("TOC tarSplitDigest: expected a string");
        }
        const d = value ?? "";
        if (d !== "") toc.tarSplitDigest = parseDigest(d, "invalid tarSplitDigest");
        break;
      }
      default:
    }
  }
  validateTocEntries(toc.entries);
  return toc;
}

/** How an entry is named in errors (built only on failure). */
function entryAt(i: number, e: TocEntry): string {
  return `TOC entry ${i} (${JSON.stringify(e.name)})`;
}

/** Structural rules that need no blob offsets. Throws FormatError naming the entry. */
export function validateTocEntries(entries: readonly TocEntry[]): void {
  const seen = new Map<string, number>();
  const tree: TreeEntry[] = [];
  // The multi-chunk file the next `chunk` entry must continue (-1 when none).
  let open = -1;
  let covered = 0;
  const closeOpen = (at: () => string) => {
    if (open >= 0 && covered !== entries[open]!.size) {
      const o = entries[open]!;
      throw new FormatError(
        `${at()}: chunks of ${JSON.stringify(o.name)} cover ${covered} bytes, size is ${o.size}`,
      );
    }
    open = -1;
  };
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const at = () => entryAt(i, e);
    if (e.type === "chunk") {
      if (open < 0) throw new FormatError(`${at()}: chunk type without a regular file`);
      const o = entries[open]!;
      if (e.name !== o.name)
        throw new FormatError(`${at()}: chunk of ${JSON.stringify(o.name)} has another name`);
      checkChunkFields(e, at, true);
      if (e.chunkOffset !== covered) {
        throw new FormatError(`${at()}: chunkOffset ${e.chunkOffset}, expected ${covered}`);
      }
      covered += e.chunkSize;
      continue;
    }
    closeOpen(at);
    const clean = confinedPath(e.name, at);
    const prev = seen.get(clean);
    if (prev !== undefined) {
      throw new FormatError(`${at()}: duplicate entry for path ${clean} (also entry ${prev})`);
    }
    seen.set(clean, i);
    const link = e.type === "hardlink" ? confinedPath(e.linkName, () => `${at()} linkName`) : "";
    tree.push({ name: clean, type: e.type, linkName: e.type === "hardlink" ? link : undefined });
    if (e.type !== "reg") {
      if (e.offset !== 0 || e.endOffset !== 0 || e.chunkSize !== 0) {
        throw new FormatError(`${at()}: a ${e.type} entry cannot carry payload offsets or chunks`);
      }
      continue;
    }
    checkDigest(e.digest, at, "digest");
    if (e.size === 0) {
      if (e.offset !== 0 || e.endOffset !== 0 || e.chunkSize !== 0) {
        throw new FormatError(`${at()}: an empty file cannot carry payload offsets or chunks`);
      }
      continue;
    }
    if (e.offset === 0) throw new FormatError(`${at()}: file with ${e.size} bytes has no offset`);
    if (e.chunkSize > 0) {
      checkChunkFields(e, at, false);
      if (e.chunkOffset !== 0)
        throw new FormatError(`${at()}: first chunk has chunkOffset ${e.chunkOffset}`);
      open = i;
      covered = e.chunkSize;
    }
  }
  closeOpen(() => "end of TOC");
  checkLayerTree(tree, "TOC");
}

/** A valid sha256 digest passes one cheap test; anything else gets parseDigest's full check. */
const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;

function checkDigest(d: string, at: () => string, what: string): void {
  if (d.length === 71 && SHA256_DIGEST.test(d)) return;
  parseDigest(d, `${at()} ${what}`);
}

function checkChunkFields(e: TocEntry, at: () => string, isChunkEntry: boolean): void {
  if (e.chunkSize <= 0) throw new FormatError(`${at()}: chunkSize must be positive`);
  if (e.chunkType !== "" && e.chunkType !== "zeros") {
    throw new FormatError(`${at()}: unknown chunkType ${JSON.stringify(e.chunkType)}`);
  }
  if (isChunkEntry || e.chunkDigest !== "") checkDigest(e.chunkDigest, at, "chunkDigest");
  if (isChunkEntry && e.offset === 0) throw new FormatError(`${at()}: chunk without offset`);
}

/**
 * stargz-snapshotter's zstdchunked layout stores an eStargz JTOC, written with MarshalIndent.
 * c/storage's TOC is compact Go JSON, whose strings never hold a raw newline, so any newline
 * in the TOC text means it is a JTOC and belongs to the estargz-zstd reader.
 */
export function looksLikeStargzToc(json: Buffer): boolean {
  return json.includes(0x0a);
}
