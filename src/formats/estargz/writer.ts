/**
 * Convert a tar stream into a gzip eStargz blob, following the Go writer (`estargz.Build` with
 * default options, one worker; spec estargz.md §1.2-1.4, §1.8, §3.4):
 *  - `.no.prefetch.landmark` first (no prioritized files), input landmarks and any input
 *    `stargz.index.json` dropped;
 *  - a new gzip member at every regular-file payload and every `chunkSize` inside it; headers and
 *    padding go into the member before; the input's end-of-archive and trailing bytes dropped;
 *  - the TOC as its own member (tar entry `stargz.index.json` + end-of-archive), then the footer.
 * Tar headers are copied byte for byte from the input instead of being re-encoded as Go does, so
 * every entry keeps its exact metadata; TOC fields come from the parsed headers like Go's.
 * Duplicate paths are kept (Build keeps the last one): dropping them would need the whole tar.
 */
import { createHasher, type Digest, digestOf } from "../../digest.js";
import { UnsupportedError } from "../../errors.js";
import { tocTypeOf } from "../tar/entry-types.js";
import { readTar } from "../tar/reader.js";
import type { TarHeader, TarTime } from "../tar/types.js";
import { encodeEstargzFooter } from "./footer.js";
import { GzipMemberWriter } from "./members.js";
import { TOC_DIGEST_ANNOTATION, UNCOMPRESSED_SIZE_ANNOTATION } from "./reader.js";
import { NO_PREFETCH_LANDMARK, PREFETCH_LANDMARK, TOC_TAR_NAME, type TocEntry } from "./toc.js";
import { encodeTocJson } from "./toc-encode.js";
import { encodeTocTar, zeroMetadataFileHeader } from "./toc-tar.js";

export const DEFAULT_CHUNK_SIZE = 4 << 20;
/** gzip.BestCompression, the Go writer's default. */
export const DEFAULT_GZIP_LEVEL = 9;
const LANDMARK_CONTENTS = Buffer.from([0x0f]);

export interface ConvertToEstargzOptions {
  chunkSize?: number;
  level?: number;
}

export interface EstargzConversion {
  annotations: Record<string, string>;
  blobDigest: Digest;
  blobSize: number;
  /** sha256 of what the blob gunzips to: the rewritten tar (landmark + entries + TOC entry). */
  diffId: Digest;
  tocDigest: Digest;
  uncompressedSize: number;
}

const padding = (n: number): number => (512 - (n % 512)) % 512;

export async function convertToEstargz(
  tar: AsyncIterable<Uint8Array>,
  out: (chunk: Buffer) => Promise<void> | void,
  opts: ConvertToEstargzOptions = {},
): Promise<EstargzConversion> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) {
    throw new UnsupportedError(`eStargz chunk size ${chunkSize} must be a positive integer`);
  }
  const w = new GzipMemberWriter(out, opts.level ?? DEFAULT_GZIP_LEVEL);
  const entries: TocEntry[] = [];
  const names = new TocNames();
  const file = new FilePayload(w, entries, chunkSize);

  // The landmark goes through the same path as any file (header, own member, padding).
  await w.write(zeroMetadataFileHeader(NO_PREFETCH_LANDMARK, 1));
  file.begin({ name: NO_PREFETCH_LANDMARK, type: "reg", size: 1 });
  await file.data(LANDMARK_CONTENTS);
  await file.end();
  await w.write(Buffer.alloc(padding(1)));

  let skipping = false; // inside a dropped entry (its data and padding are not written)
  let dataLength = 0; // payload bytes of the current input entry, for its padding
  for await (const ev of readTar(tar)) {
    if (ev.type === "entry") {
      await file.end();
      const pad = padding(dataLength);
      if (!skipping) await w.write(ev.raw.subarray(0, pad));
      dataLength = 0;
      skipping = isDropped(ev.header);
      if (skipping) continue;
      const entry = tocEntry(ev.header, names);
      await w.write(ev.raw.subarray(pad));
      if (entry.type === "reg" && (entry.size ?? 0) > 0) file.begin(entry);
      else entries.push(entry);
    } else if (ev.type === "data") {
      dataLength += ev.data.length;
      if (!skipping) await file.data(ev.data);
    } else if (ev.type === "end") {
      await file.end();
      if (!skipping) await w.write(ev.raw.subarray(0, padding(dataLength)));
    }
    // "trailing" bytes after the end-of-archive are dropped, as upstream does.
  }
  await file.end();
  await w.close();

  const tocJson = encodeTocJson({ version: 1, entries });
  const tocDigest = digestOf(tocJson);
  const tocOffset = w.offset;
  await w.write(encodeTocTar(tocJson));
  await w.close();
  await w.writeRaw(encodeEstargzFooter(tocOffset));
  return {
    annotations: {
      [TOC_DIGEST_ANNOTATION]: tocDigest,
      [UNCOMPRESSED_SIZE_ANNOTATION]: String(w.uncompressed),
    },
    blobDigest: w.blobDigest,
    blobSize: w.offset,
    diffId: w.diffId,
    tocDigest,
    uncompressedSize: w.uncompressed,
  };
}

function isDropped(h: TarHeader): boolean {
  const clean = h.name
    .split("/")
    .filter((p) => p !== "" && p !== ".")
    .join("/");
  return clean === TOC_TAR_NAME || clean === NO_PREFETCH_LANDMARK || clean === PREFETCH_LANDMARK;
}

/**
 * The payload of the current regular file: a member boundary before every chunk, a TOC entry per
 * chunk (the first one is the file's `reg` entry), chunk and whole-file digests.
 */
class FilePayload {
  private entry: TocEntry | undefined;
  private fileHash = createHasher();
  private chunkHash = createHasher();
  private written = 0;
  private inChunk = 0;

  constructor(
    private readonly w: GzipMemberWriter,
    private readonly entries: TocEntry[],
    private readonly chunkSize: number,
  ) {}

  begin(entry: TocEntry): void {
    this.entry = entry;
    this.fileHash = createHasher();
    this.written = 0;
    this.inChunk = 0;
  }

  async data(bytes: Buffer): Promise<void> {
    const reg = this.entry;
    if (!reg) return;
    let at = 0;
    while (at < bytes.length) {
      if (this.inChunk === 0) await this.startChunk(reg);
      const n = Math.min(bytes.length - at, this.currentChunkLength(reg) - this.inChunk);
      const piece = bytes.subarray(at, at + n);
      this.chunkHash.update(piece);
      this.fileHash.update(piece);
      await this.w.write(piece);
      at += n;
      this.inChunk += n;
      this.written += n;
      if (this.inChunk === this.currentChunkLength(reg)) this.finishChunk();
    }
  }

  /** Called at the end of the entry's data; the reg entry gets its whole-file digest. */
  async end(): Promise<void> {
    const reg = this.entry;
    if (!reg) return;
    this.entry = undefined;
    reg.digest = this.fileHash.digest();
  }

  private chunkEntry: TocEntry | undefined;

  private currentChunkLength(reg: TocEntry): number {
    const start = this.written - this.inChunk;
    return Math.min(this.chunkSize, (reg.size ?? 0) - start);
  }

  private async startChunk(reg: TocEntry): Promise<void> {
    await this.w.close();
    const chunkOffset = this.written;
    const e: TocEntry = chunkOffset === 0 ? reg : { name: reg.name, type: "chunk", chunkOffset };
    e.offset = this.w.offset;
    if (this.currentChunkLength(reg) === this.chunkSize) e.chunkSize = this.chunkSize;
    this.chunkHash = createHasher();
    this.chunkEntry = e;
    this.entries.push(e);
  }

  private finishChunk(): void {
    if (this.chunkEntry) this.chunkEntry.chunkDigest = this.chunkHash.digest();
    this.chunkEntry = undefined;
    this.inChunk = 0;
  }
}

/** uname/gname are written only when they differ from the last one written for that id. */
class TocNames {
  private readonly users = new Map<number, string>();
  private readonly groups = new Map<number, string>();
  user(id: number, name: string): string | undefined {
    return ifChanged(this.users, id, name);
  }
  group(id: number, name: string): string | undefined {
    return ifChanged(this.groups, id, name);
  }
}

function ifChanged(m: Map<number, string>, id: number, name: string): string | undefined {
  if (name === "" || m.get(id) === name) return undefined;
  m.set(id, name);
  return name;
}

function tocEntry(h: TarHeader, names: TocNames): TocEntry {
  const type = tocTypeOf(h.typeflag);
  if (!type || h.sparse) {
    throw new UnsupportedError(
      `eStargz: unsupported input tar entry ${JSON.stringify(h.name)} (type ${JSON.stringify(h.typeflag)}${h.sparse ? ", sparse" : ""})`,
    );
  }
  const e: TocEntry = { name: h.name, type };
  if (type === "reg") e.size = h.size;
  const modtime = formatModtime(h.mtime);
  if (modtime) e.modtime = modtime;
  if (type === "hardlink" || type === "symlink") e.linkName = h.linkname;
  e.mode = h.mode;
  e.uid = h.uid;
  e.gid = h.gid;
  const user = names.user(h.uid, h.uname);
  if (user) e.userName = user;
  const group = names.group(h.gid, h.gname);
  if (group) e.groupName = group;
  if (type === "char" || type === "block") {
    e.devMajor = h.devmajor;
    e.devMinor = h.devminor;
  }
  if (h.xattrs.size > 0) {
    e.xattrs = {};
    for (const [k, v] of h.xattrs) e.xattrs[k] = v.toString("base64");
  }
  if (type === "reg" && h.size === 0) e.digest = digestOf(Buffer.alloc(0));
  return e;
}

/** Go: omitted for the zero time and Unix 0; else UTC rounded to the second, RFC 3339. */
function formatModtime(t: TarTime): string | undefined {
  if (t.sec === 0 || (t.sec === GO_ZERO_TIME_SEC && t.nsec === 0)) return undefined;
  const sec = t.sec + (t.nsec >= 500_000_000 ? 1 : 0);
  if (sec < MIN_RFC3339_SEC || sec > MAX_RFC3339_SEC) {
    throw new UnsupportedError(`eStargz: mtime ${t.sec}s is outside years 0000-9999`);
  }
  return `${new Date(sec * 1000).toISOString().slice(0, 19)}Z`;
}

/** Go's zero time.Time, 0001-01-01T00:00:00Z. */
const GO_ZERO_TIME_SEC = -62135596800;
/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: where RFC 3339 (4-digit years) ends. */
const MIN_RFC3339_SEC = -62167219200;
const MAX_RFC3339_SEC = 253402300799;
