/**
 * Tampering with layers the project's own writers produced: a zstd:chunked blob is taken apart
 * into payload frames, TOC JSON and tar-split lines, changed, and put back together with every
 * digest and position recomputed, the way an attacker who controls the registry (but not the
 * image config's diff_ids) would. Only checks beyond the digests can then catch the change.
 */

import type { BuiltLayer } from "../../mock-registry/src/image/build.js";
import { type Digest, digestOf } from "../../src/digest.js";
import { skippableFrame, zstdCompress, zstdDecompress } from "../../src/formats/zstd.js";
import {
  parseZstdChunkedAnnotations,
  zstdChunkedAnnotations,
} from "../../src/formats/zstdchunked/annotations.js";
import { encodeFooter } from "../../src/formats/zstdchunked/footer.js";

/** Raw JSON, tampered with at will (tests only). */
// biome-ignore lint/suspicious/noExplicitAny: raw JSON of hostile metadata
export type Json = any;
export type RawToc = { entries: Json[]; tarSplitDigest?: string; [k: string]: unknown };
export type RawTarSplitLine = {
  type: 1 | 2;
  name?: string;
  size?: number;
  payload: Json;
  position: number;
};

export interface ChunkedParts {
  /** The blob up to the TOC's skippable frame: every payload frame. */
  payload: Buffer;
  toc: RawToc;
  tarSplit: RawTarSplitLine[];
}

export async function splitChunked(layer: BuiltLayer): Promise<ChunkedParts> {
  const a = parseZstdChunkedAnnotations(layer.descriptor.annotations ?? {});
  if (!a?.tarSplit) throw new Error("not a zstd:chunked layer with a tar-split");
  const slice = (p: { offset: number; length: number }) =>
    layer.blob.subarray(p.offset, p.offset + p.length);
  const toc = JSON.parse((await zstdDecompress(slice(a.toc), 1 << 26)).toString()) as RawToc;
  const ts = (await zstdDecompress(slice(a.tarSplit), 1 << 26)).toString();
  return {
    payload: Buffer.from(layer.blob.subarray(0, a.toc.offset - 8)),
    toc,
    tarSplit: ts
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as RawTarSplitLine),
  };
}

export interface JoinOptions {
  /** Replace the compressed TOC frame payload (after the TOC digest is fixed to match it). */
  compressedToc?: Buffer;
  /** Replace the compressed tar-split frame payload (the TOC's tarSplitDigest follows it). */
  compressedTarSplit?: Buffer;
  /** Leave the tar-split out (TOC without tarSplitDigest): the skeleton frames rebuild the tar. */
  noTarSplit?: boolean;
  /** Change the annotations last (positions, keys). */
  annotations?: (a: Record<string, string>) => Record<string, string>;
}

/** Put the parts back together: fresh tar-split digest, TOC digest, positions and footer. */
export async function joinChunked(
  parts: ChunkedParts,
  diffId: Digest,
  opts: JoinOptions = {},
): Promise<BuiltLayer> {
  const tsJson = Buffer.from(parts.tarSplit.map((l) => `${JSON.stringify(l)}\n`).join(""));
  const tsFrame = opts.compressedTarSplit ?? (await zstdCompress(tsJson, 3));
  const toc: RawToc = { ...parts.toc, tarSplitDigest: digestOf(tsFrame) };
  if (opts.noTarSplit) delete toc.tarSplitDigest;
  const tocJson = Buffer.from(JSON.stringify(toc));
  const tocFrame = opts.compressedToc ?? (await zstdCompress(tocJson, 3));
  const tocPos = {
    offset: parts.payload.length + 8,
    length: tocFrame.length,
    uncompressedLength: tocJson.length,
  };
  const tsPos = {
    offset: tocPos.offset + tocFrame.length + 8,
    length: tsFrame.length,
    uncompressedLength: tsJson.length,
  };
  const blob = Buffer.concat([
    parts.payload,
    skippableFrame(tocFrame),
    skippableFrame(tsFrame),
    encodeFooter(tocPos, tsPos),
  ]);
  let annotations = zstdChunkedAnnotations({
    tocDigest: digestOf(tocFrame),
    toc: tocPos,
    tarSplit: tsPos,
  });
  if (opts.annotations) annotations = opts.annotations(annotations);
  return withBlob({ blob, diffId, descriptor: { ...zstdDescriptor, annotations } }, blob);
}

const zstdDescriptor = {
  mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
  digest: "sha256:" as Digest,
  size: 0,
};

/** The same layer with other bytes (descriptor digest and size follow the bytes). */
export function withBlob(layer: BuiltLayer, blob: Buffer): BuiltLayer {
  return {
    ...layer,
    blob,
    descriptor: { ...layer.descriptor, digest: digestOf(blob), size: blob.length },
  };
}

/** The tar header (512 bytes) inside a tar-split segment whose name field is `name`. */
function findHeader(payload: Buffer, name: string): number {
  for (let at = 0; at + 512 <= payload.length; at += 512) {
    const field = payload.subarray(at, at + 100);
    const end = field.indexOf(0);
    if (field.subarray(0, end === -1 ? 100 : end).toString("latin1") === name) return at;
  }
  return -1;
}

/** Recompute a tar header's checksum after changing it. */
export function fixChecksum(hdr: Buffer): void {
  hdr.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += hdr[i]!;
  hdr.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
}

/** Change the raw tar header of `name` inside the tar-split (checksum fixed). */
export function patchTarSplitHeader(
  parts: ChunkedParts,
  name: string,
  patch: (hdr: Buffer) => void,
): void {
  for (const line of parts.tarSplit) {
    if (line.type !== 2) continue;
    const payload = Buffer.from(line.payload as string, "base64");
    const at = findHeader(payload, name);
    if (at === -1) continue;
    const hdr = payload.subarray(at, at + 512);
    patch(hdr);
    fixChecksum(hdr);
    line.payload = payload.toString("base64");
    return;
  }
  throw new Error(`no tar header for ${name} in the tar-split`);
}

/** Write an octal numeric field of a tar header (uid 108/8, gid 116/8, mode 100/8, size 124/12). */
export function octal(hdr: Buffer, at: number, width: number, value: number): void {
  hdr.write(`${value.toString(8).padStart(width - 1, "0")}\0`, at, "latin1");
}
