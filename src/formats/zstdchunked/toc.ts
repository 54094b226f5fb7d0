/**
 * The zstd:chunked TOC ("manifest") JSON (spec §3): types and a parser that behaves like
 * c/storage's unmarshalToc (case-insensitive keys, unknown keys skipped, trailing data rejected,
 * empty-file digest default) plus the structural validation c/storage spreads over several
 * places (entry types, chunk folding, digests, path confinement). Byte ranges are checked by
 * `tocFiles` in toc-files.ts, which needs the TOC's blob offset.
 */
import { EMPTY_SHA256, parseDigest } from "../../digest.js";
import { FormatError, LimitExceededError } from "../../errors.js";
import { checkLayerTree } from "../tree-rules.js";
import { cleanAbsPath, confinedPath } from "./path.js";
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

function str(v: unknown, what: string): string {
  if (v === null) return "";
  if (typeof v !== "string") throw new FormatError(`${what}: expected a string`);
  return v;
}

function int(v: unknown, what: string): number {
  if (v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new FormatError(`${what}: expected a non-negative integer below 2^53, got ${v}`);
  }
  return v;
}

function time(v: unknown, what: string): string | undefined {
  if (v === null) return undefined;
  const s = str(v, what);
  parseRfc3339(s, what);
  return s;
}

function parseEntry(raw: unknown, index: number): TocEntry {
  const at = `TOC entry ${index}`;
  if (!isObject(raw)) throw new FormatError(`${at}: not an object`);
  const e = emptyTocEntry("reg", "");
  let type = "";
  for (const [key, value] of Object.entries(raw)) {
    const what = `${at} field ${key}`;
    switch (key.toLowerCase()) {
      case "type":
        type = str(value, what);
        break;
      case "name":
        e.name = str(value, what);
        break;
      case "linkname":
        e.linkName = str(value, what);
        break;
      case "mode":
        e.mode = int(value, what);
        break;
      case "size":
        e.size = int(value, what);
        break;
      case "uid":
        e.uid = int(value, what);
        break;
      case "gid":
        e.gid = int(value, what);
        break;
      case "modtime":
        e.modtime = time(value, what);
        break;
      case "accesstime":
        e.accesstime = time(value, what);
        break;
      case "changetime":
        e.changetime = time(value, what);
        break;
      case "devmajor":
        e.devMajor = int(value, what);
        break;
      case "devminor":
        e.devMinor = int(value, what);
        break;
      case "xattrs":
        e.xattrs = parseXattrs(value, what);
        break;
      case "digest":
        e.digest = str(value, what);
        break;
      case "offset":
        e.offset = int(value, what);
        break;
      case "endoffset":
        e.endOffset = int(value, what);
        break;
      case "chunksize":
        e.chunkSize = int(value, what);
        break;
      case "chunkoffset":
        e.chunkOffset = int(value, what);
        break;
      case "chunkdigest":
        e.chunkDigest = str(value, what);
        break;
      case "chunktype":
        e.chunkType = str(value, what);
        break;
      default: // unknown keys are skipped, like unmarshalToc's iter.Skip()
    }
  }
  if (!ENTRY_TYPES.has(type)) {
    throw new FormatError(
      `${at} (${JSON.stringify(e.name)}): unknown type ${JSON.stringify(type)}`,
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
  for (const [k, v] of Object.entries(value)) out[k] = str(v, `${what}[${JSON.stringify(k)}]`);
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
        const d = str(value, "TOC tarSplitDigest");
        if (d !== "") toc.tarSplitDigest = parseDigest(d, "invalid tarSplitDigest");
        break;
      }
      default:
    }
  }
  validateTocEntries(toc.entries);
  return toc;
}

/** Structural rules that need no blob offsets. Throws FormatError naming the entry. */
export function validateTocEntries(entries: readonly TocEntry[]): void {
  const seen = new Map<string, number>();
  // The multi-chunk file the next `chunk` entry must continue (undefined when none).
  let open: { name: string; size: number; covered: number } | undefined;
  const closeOpen = (at: string) => {
    if (open && open.covered !== open.size) {
      throw new FormatError(
        `${at}: chunks of ${JSON.stringify(open.name)} cover ${open.covered} bytes, size is ${open.size}`,
      );
    }
    open = undefined;
  };
  entries.forEach((e, i) => {
    const at = `TOC entry ${i} (${JSON.stringify(e.name)})`;
    if (e.type === "chunk") {
      if (!open) throw new FormatError(`${at}: chunk type without a regular file`);
      if (e.name !== open.name)
        throw new FormatError(`${at}: chunk of ${JSON.stringify(open.name)} has another name`);
      checkChunkFields(e, at, true);
      if (e.chunkOffset !== open.covered) {
        throw new FormatError(`${at}: chunkOffset ${e.chunkOffset}, expected ${open.covered}`);
      }
      open.covered += e.chunkSize;
      return;
    }
    closeOpen(at);
    const clean = confinedPath(e.name, at);
    const prev = seen.get(clean);
    if (prev !== undefined) {
      throw new FormatError(`${at}: duplicate entry for path ${clean} (also entry ${prev})`);
    }
    seen.set(clean, i);
    if (e.type === "hardlink") confinedPath(e.linkName, `${at} linkName`);
    if (e.type !== "reg") {
      if (e.offset !== 0 || e.endOffset !== 0 || e.chunkSize !== 0) {
        throw new FormatError(`${at}: a ${e.type} entry cannot carry payload offsets or chunks`);
      }
      return;
    }
    parseDigest(e.digest, `${at} digest`);
    if (e.size === 0) {
      if (e.offset !== 0 || e.endOffset !== 0 || e.chunkSize !== 0) {
        throw new FormatError(`${at}: an empty file cannot carry payload offsets or chunks`);
      }
      return;
    }
    if (e.offset === 0) throw new FormatError(`${at}: file with ${e.size} bytes has no offset`);
    if (e.chunkSize > 0) {
      checkChunkFields(e, at, false);
      if (e.chunkOffset !== 0)
        throw new FormatError(`${at}: first chunk has chunkOffset ${e.chunkOffset}`);
      open = { name: e.name, size: e.size, covered: e.chunkSize };
    }
  });
  closeOpen("end of TOC");
  checkLayerTree(
    entries
      .filter((e) => e.type !== "chunk")
      .map((e) => ({
        name: cleanAbsPath(e.name),
        type: e.type,
        linkName: e.type === "hardlink" ? cleanAbsPath(e.linkName) : undefined,
      })),
    "TOC",
  );
}

function checkChunkFields(e: TocEntry, at: string, isChunkEntry: boolean): void {
  if (e.chunkSize <= 0) throw new FormatError(`${at}: chunkSize must be positive`);
  if (e.chunkType !== "" && e.chunkType !== "zeros") {
    throw new FormatError(`${at}: unknown chunkType ${JSON.stringify(e.chunkType)}`);
  }
  if (isChunkEntry || e.chunkDigest !== "") parseDigest(e.chunkDigest, `${at} chunkDigest`);
  if (isChunkEntry && e.offset === 0) throw new FormatError(`${at}: chunk without offset`);
}

/**
 * stargz-snapshotter's zstdchunked layout stores an eStargz JTOC, written with MarshalIndent.
 * c/storage's TOC is compact Go JSON, whose strings never hold a raw newline, so any newline
 * in the TOC text means it is a JTOC and belongs to the estargz-zstd reader.
 */
export function looksLikeStargzToc(json: Buffer): boolean {
  return json.includes(0x0a);
}
