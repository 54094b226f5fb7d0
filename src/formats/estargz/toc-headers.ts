/**
 * The "toc-headers" rebuild strategy for eStargz: the layer tar regenerated from the TOC alone,
 * plus file content, with no member of the blob read.
 *
 * Why it can work: the eStargz writer (stargz-snapshotter's `estargz.Build`) never copies a tar
 * header. It reads every entry with Go's archive/tar and writes it again with archive/tar, and
 * it records in the TOC every header field that writer looks at (name, type, size, mode,
 * uid/gid, names, mtime, link target, device numbers, xattrs). The decompressed blob is then:
 * per TOC entry its header, its content and padding; then (gzip flavour) the
 * `stargz.index.json` entry (the stored TOC JSON) and the end-of-archive blocks; the zstd
 * flavour keeps its TOC in a skippable frame and stops after the entries. So the header bytes
 * can be produced again.
 *
 * What the TOC does not say, and how it is handled:
 *  - the format the input header had: Go writes GNU headers back as GNU, everything else as its
 *    default USTAR/PAX choice. The caller picks a flavour per layer (header-probe.ts).
 *  - user/group names the writer left out because they repeat the last one seen for that id
 *    (carried forward here, as readers do), sub-second or access times and unknown PAX records
 *    the input carried (then the tar differs).
 * Nothing here is trusted: the result is only accepted when it hashes to the diff_id, and the
 * caller falls back to reading the members when it does not.
 */
import { ChunkpullError, FormatError } from "../../errors.js";
import type { ContentSource } from "../content-source.js";
import type { FileRef } from "../layer-index.js";
import type { TarEvent, TarHeader } from "../tar/types.js";
import { encodeTarHeader, type TarHeaderInit, tarPadding } from "../tar/writer.js";
import { TarSplitBuilder } from "../tarsplit/builder.js";
import { encodeGnuHeader } from "./gnu-header.js";
import type { EstargzLayer } from "./reader.js";
import {
  LANDMARK_DIGEST,
  NO_PREFETCH_LANDMARK,
  normalizeTocName,
  PREFETCH_LANDMARK,
  TOC_TAR_NAME,
  type TocEntry,
} from "./toc.js";
import { encodeTocTar } from "./toc-tar.js";
import type { EstargzZstdLayer } from "./zstd-flavour.js";

/** "go": Go's default header choice (USTAR, PAX when needed); "gnu": input headers were GNU. */
export type HeaderFlavour = "go" | "gnu";

/** A TOC entry whose header cannot be written again (the tar then cannot be regenerated). */
export class UnreproducibleHeaderError extends FormatError {}

const TYPEFLAG: Record<string, string> = {
  reg: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

/** User/group names as the writer omitted them: absent = the last one written for that id. */
export class CarriedNames {
  private readonly users = new Map<number, string>();
  private readonly groups = new Map<number, string>();
  user(e: TocEntry): string {
    return carry(this.users, e.uid ?? 0, e.userName);
  }
  group(e: TocEntry): string {
    return carry(this.groups, e.gid ?? 0, e.groupName);
  }
}

function carry(m: Map<number, string>, id: number, name: string | undefined): string {
  if (name) m.set(id, name);
  return m.get(id) ?? "";
}

function isLandmark(e: TocEntry): boolean {
  const name = normalizeTocName(e.name, "eStargz TOC entry");
  return name === NO_PREFETCH_LANDMARK || name === PREFETCH_LANDMARK;
}

/** Seconds of a TOC modtime (RFC 3339, whole seconds, UTC); absent = 0, as Go writes it. */
function modtimeSeconds(e: TocEntry): number {
  if (!e.modtime) return 0;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(e.modtime);
  if (!m)
    throw new UnreproducibleHeaderError(`${e.name}: modtime ${e.modtime} is not whole-second UTC`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  return Math.floor(date.getTime() / 1000);
}

/** The header blocks the eStargz writer wrote for one non-chunk TOC entry. */
export function tocEntryHeader(e: TocEntry, names: CarriedNames, flavour: HeaderFlavour): Buffer {
  const typeflag = TYPEFLAG[e.type];
  if (!typeflag) throw new UnreproducibleHeaderError(`${e.name}: no header for a ${e.type} entry`);
  const h: TarHeaderInit = {
    name: e.name,
    typeflag,
    size: e.type === "reg" ? (e.size ?? 0) : 0,
    mode: e.mode ?? 0,
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    mtime: modtimeSeconds(e),
    linkname: e.linkName ?? "",
    uname: names.user(e),
    gname: names.group(e),
    devmajor: e.devMajor ?? 0,
    devminor: e.devMinor ?? 0,
  };
  if (e.xattrs && Object.keys(e.xattrs).length > 0) {
    h.xattrs = new Map(Object.entries(e.xattrs).map(([k, v]) => [k, Buffer.from(v, "base64")]));
  }
  try {
    // The writer creates landmarks with Go's default format, whatever the input tar was.
    return flavour === "gnu" && !isLandmark(e) ? encodeGnuHeader(h) : encodeTarHeader(h);
  } catch (err) {
    throw new UnreproducibleHeaderError(`${e.name}: ${(err as Error).message}`, { cause: err });
  }
}

/** What a landmark file holds (one byte, 0x0f). */
export const LANDMARK_CONTENTS: Buffer = Buffer.from([0x0f]);

/** Collects the regenerated tar's tar-split; `lines` is undefined when it cannot have one. */
export interface TarSplitSink {
  lines?: string[];
}

/**
 * The layer tar from the TOC and `source` (file content; landmark files are written here).
 * Throws UnreproducibleHeaderError when an entry cannot be written; a wrong guess anywhere
 * else shows as a diff_id mismatch. With `tarSplit`, the tar's tar-split is built on the way
 * from what is generated (no parsing of the tar); it only counts once the diff_id holds.
 */
export async function* rebuildFromTocHeaders(
  layer: EstargzLayer | EstargzZstdLayer,
  source: ContentSource,
  flavour: HeaderFlavour = "go",
  tarSplit?: TarSplitSink,
): AsyncGenerator<Buffer> {
  const split = new SplitRecorder(tarSplit);
  const names = new CarriedNames();
  // layer.files are the non-landmark regular files with content, in TOC order.
  let nextFile = 0;
  let padding: Buffer = Buffer.alloc(0);
  for (const e of layer.toc.entries) {
    if (e.type === "chunk") continue;
    const header = tocEntryHeader(e, names, flavour);
    const size = e.type === "reg" ? (e.size ?? 0) : 0;
    split.entry(e.name, size, padding, header);
    yield header;
    padding = tarPadding(size);
    if (size === 0) continue;
    if (isLandmark(e)) {
      if (size !== 1 || e.digest !== LANDMARK_DIGEST) {
        throw new UnreproducibleHeaderError(`${e.name}: a landmark file with other content`);
      }
      split.data(LANDMARK_CONTENTS);
      yield LANDMARK_CONTENTS;
    } else {
      const file: FileRef | undefined = layer.files[nextFile++];
      if (!file || file.size !== size) {
        throw new FormatError(`eStargz TOC entry ${e.name} does not line up with the file list`);
      }
      for await (const piece of await source.file(file)) {
        split.data(piece);
        yield piece;
      }
    }
    yield padding;
  }
  if (nextFile !== layer.files.length) {
    throw new FormatError("eStargz file list has files the TOC entries did not reach");
  }
  if (layer.format === "estargz-zstd") {
    // The zstd flavour keeps its TOC in a skippable frame: the stream ends with the entries.
    split.end(padding);
    split.finish();
    return;
  }
  const toc = encodeTocTar(layer.tocJson);
  const tocHeader = toc.subarray(0, 512);
  split.entry(TOC_TAR_NAME, layer.tocJson.length, padding, tocHeader);
  split.data(layer.tocJson);
  split.end(toc.subarray(512 + layer.tocJson.length));
  split.finish();
  yield toc;
}

/** Feeds a TarSplitBuilder the events a tar reader would have seen; gives up quietly. */
class SplitRecorder {
  private builder: TarSplitBuilder | undefined;
  private readonly lines: string[] = [];
  constructor(private readonly sink: TarSplitSink | undefined) {
    this.builder = sink ? new TarSplitBuilder() : undefined;
  }
  entry(name: string, size: number, padding: Buffer, header: Buffer): void {
    const nameBytes = Buffer.from(name, "utf8");
    const h: TarHeader = {
      typeflag: "0",
      name,
      nameBytes,
      linkname: "",
      mode: 0,
      uid: 0,
      gid: 0,
      size,
      declaredSize: size,
      mtime: { sec: 0, nsec: 0 },
      uname: "",
      gname: "",
      devmajor: 0,
      devminor: 0,
      xattrs: new Map(),
      pax: new Map(),
      format: "unknown",
    };
    const raw = padding.length > 0 ? Buffer.concat([padding, header]) : header;
    this.push({ type: "entry", header: h, raw });
  }
  data(data: Buffer): void {
    if (this.builder) this.push({ type: "data", data });
  }
  end(raw: Buffer): void {
    this.push({ type: "end", raw });
  }
  finish(): void {
    if (!this.builder || !this.sink) return;
    try {
      this.lines.push(this.builder.finish());
      this.sink.lines = this.lines;
    } catch (err) {
      if (!(err instanceof ChunkpullError)) throw err;
    }
  }
  private push(ev: TarEvent): void {
    if (!this.builder) return;
    try {
      const line = this.builder.push(ev);
      if (line) this.lines.push(line);
    } catch (err) {
      // Duplicate paths and the like: the layer is still proven, it just has no tar-split.
      if (!(err instanceof ChunkpullError)) throw err;
      this.builder = undefined;
    }
  }
}
