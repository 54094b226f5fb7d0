/**
 * Which header flavour a gzip eStargz layer was written with, read from one small member.
 *
 * The TOC does not say whether the writer's input tar was GNU (whose headers Go writes back as
 * GNU) or anything else (Go's default USTAR/PAX). The landmark file's member (a gzip member, or
 * a zstd frame in the zstd flavour) settles it cheaply:
 * the writer gives each payload its own member and puts the padding and the following headers in
 * the same member, so the landmark member decompresses to its one byte, 511 zero bytes and the
 * headers of the entries up to the next file with content, no file data. That member (a few
 * hundred bytes) is read, and the flavour whose headers equal it is taken; when neither does,
 * the TOC does not describe these headers and rebuilding from it would only waste a pass.
 * The probe decides a strategy only: whatever it picks is still proven by the diff_id.
 */
import type { RangeSource } from "../layer-index.js";
import { zstdDecompress } from "../zstd.js";
import { gunzipBounded } from "./gzip.js";
import type { EstargzLayer } from "./reader.js";
import {
  LANDMARK_DIGEST,
  NO_PREFETCH_LANDMARK,
  normalizeTocName,
  PREFETCH_LANDMARK,
} from "./toc.js";
import { CarriedNames, type HeaderFlavour, tocEntryHeader } from "./toc-headers.js";
import type { EstargzZstdLayer } from "./zstd-flavour.js";

/** A landmark member larger than this is not read (the first rebuild then assumes "go"). */
export const PROBE_MAX_BYTES = 64 << 10;

export type ProbeResult = { flavour: HeaderFlavour; probed: boolean } | { miss: string };

const FLAVOURS: HeaderFlavour[] = ["go", "gnu"];

export async function probeHeaderFlavour(
  layer: Pick<EstargzLayer | EstargzZstdLayer, "toc" | "dataEnd" | "format">,
  blob: RangeSource,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const entries = layer.toc.entries;
  const at = entries.findIndex((e) => {
    if (e.type !== "reg" || e.size !== 1 || e.digest !== LANDMARK_DIGEST || !e.offset) return false;
    const name = normalizeTocName(e.name, "eStargz TOC entry");
    return name === NO_PREFETCH_LANDMARK || name === PREFETCH_LANDMARK;
  });
  const landmark = entries[at];
  if (!landmark?.offset || landmark.innerOffset) return { flavour: "go", probed: false };
  const start = landmark.offset;
  let end = layer.dataEnd;
  for (const e of entries) {
    if (e.offset && !e.innerOffset && e.offset > start && e.offset < end) end = e.offset;
  }
  if (end - start > PROBE_MAX_BYTES) return { flavour: "go", probed: false };
  const [member] = await blob.read([{ offset: start, length: end - start }], signal);
  const actual =
    layer.format === "estargz-zstd"
      ? await zstdDecompress(member as Buffer, 4 * PROBE_MAX_BYTES)
      : gunzipBounded(member as Buffer, 4 * PROBE_MAX_BYTES, "eStargz landmark member");
  if (actual.length <= 512) return { flavour: "go", probed: false }; // no header to compare
  for (const flavour of FLAVOURS) {
    const expected = expectedMember(entries, at, flavour);
    if (expected && Buffer.compare(expected, actual) === 0) return { flavour, probed: true };
  }
  return {
    miss: "the tar headers in the landmark's member are not the ones the TOC describes",
  };
}

/** Landmark byte, padding, and the headers up to the next file with content, for `flavour`. */
function expectedMember(
  entries: EstargzLayer["toc"]["entries"],
  landmarkAt: number,
  flavour: HeaderFlavour,
): Buffer | undefined {
  const names = new CarriedNames();
  try {
    for (const e of entries.slice(0, landmarkAt + 1)) {
      if (e.type !== "chunk") tocEntryHeader(e, names, flavour); // replays the carried names
    }
    const parts: Buffer[] = [Buffer.from([0x0f]), Buffer.alloc(511)];
    for (const e of entries.slice(landmarkAt + 1)) {
      if (e.type === "chunk") break;
      parts.push(tocEntryHeader(e, names, flavour));
      if (e.type === "reg" && (e.size ?? 0) > 0) break;
    }
    return Buffer.concat(parts);
  } catch {
    return undefined; // this flavour cannot write one of these headers
  }
}
