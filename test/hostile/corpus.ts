/**
 * The hostile image corpus: each case is generated from an honest layer written by the
 * project's own writer, then tampered with (or written from a hostile tar), and says what a
 * pull of it must end in: a specific error code, or a full pull proven by the diff_id, or an
 * accepted layer whose names stay confined.
 */

import {
  assembleImage,
  type BuiltImage,
  type BuiltLayer,
  buildLayer,
} from "../../mock-registry/src/image/build.js";
import {
  binaryContent,
  makeTar,
  type TarFile,
  textContent,
} from "../../mock-registry/src/image/sample-app.js";
import type { BehaviourModes } from "../../mock-registry/src/index.js";
import { type Digest, digestOf } from "../../src/digest.js";
import { skippableFrame, zstdCompress } from "../../src/formats/zstd.js";
import { ESTARGZ_TOC_DIGEST_KEY } from "../../src/formats/zstdchunked/annotations.js";
import { zstdRleBomb } from "./bomb.js";
import {
  type ChunkedParts,
  type Json,
  joinChunked,
  octal,
  patchTarSplitHeader,
  splitChunked,
  withBlob,
} from "./tamper.js";

/** A name no honest test uses: its appearance anywhere outside the store is an escape. */
export const MARKER = "chunkpull-escape-marker";

export const HONEST_FILES: TarFile[] = [
  { name: "etc/", type: "5" },
  { name: "etc/motd", data: textContent(3000, 1) },
  { name: "etc/app.conf", data: textContent(200_000, 2) },
  { name: "etc/big.bin", data: binaryContent(300_000, 3) },
  { name: "etc/link", type: "2", linkname: "motd" },
];

export type Outcome =
  /** The pull fails with this ChunkpullError code; nothing is recorded. */
  | { code: string }
  /** The partial path is refused, a full pull proves the honest tar. */
  | { full: true }
  /** The layer is valid as published: pulled (partially), names confined. */
  | { accepted: true };

export interface CorpusCase {
  name: string;
  outcome: Outcome;
  /** What the error message must say (beyond the code). */
  message?: RegExp;
  /** Verify policy (default diff-id). */
  verify?: "diff-id" | "toc";
  /** Pull with strict format rules. */
  strict?: boolean;
  /** Mock registry behaviour for this case's repository. */
  modes?: (h: Honest) => Partial<BehaviourModes>;
  build(honest: Honest): Promise<BuiltImage>;
}

export interface Honest {
  tar: Buffer;
  layer: BuiltLayer;
}

export async function honestLayer(): Promise<Honest> {
  const tar = makeTar(HONEST_FILES);
  return { tar, layer: await buildLayer(tar, "zstd:chunked") };
}

/** Tamper with the TOC and/or tar-split of the honest layer; the config keeps the honest diff_id. */
async function tampered(
  h: Honest,
  change: (p: ChunkedParts) => void | Promise<void>,
  opts: Parameters<typeof joinChunked>[2] = {},
): Promise<BuiltImage> {
  const parts = await splitChunked(h.layer);
  await change(parts);
  return assembleImage([await joinChunked(parts, h.layer.diffId, opts)]);
}

const entry = (p: ChunkedParts, name: string): Json => {
  const e = p.toc.entries.find((x) => x.name === name && x.type !== "chunk");
  if (!e) throw new Error(`no TOC entry ${name}`);
  return e;
};

/** A layer published as is from a hostile tar (its diff_id is honest about that tar). */
async function published(files: TarFile[]): Promise<BuiltImage> {
  return assembleImage([await buildLayer(makeTar(files), "zstd:chunked")]);
}

/** The payload entry with the largest compressed span (for bombs and flipped bytes). */
function largestFrame(p: ChunkedParts): Json {
  return p.toc.entries
    .filter((e) => e.offset > 0 && e.endOffset > e.offset)
    .sort((a, b) => b.endOffset - b.offset - (a.endOffset - a.offset))[0];
}

/** Fill [offset, end) of the payload with a bomb frame, padded with a skippable frame. */
function plantBomb(p: ChunkedParts, offset: number, end: number): void {
  const span = end - offset;
  let blocks = Math.min(8000, Math.floor((span - 6 - 8) / 4));
  while (span - 6 - blocks * 4 !== 0 && span - 6 - blocks * 4 < 8) blocks--;
  const bomb = zstdRleBomb(blocks);
  const pad = span - bomb.length;
  const filler = pad === 0 ? Buffer.alloc(0) : skippableFrame(Buffer.alloc(pad - 8));
  Buffer.concat([bomb, filler]).copy(p.payload, offset);
}

/** TOC-only changes: [what, TOC field, new value or change]. */
const DISAGREE: Array<[string, string, unknown]> = [
  ["mode", "mode", 0o777],
  ["setuid", "mode", (m: number) => m | 0o4000],
  ["uid", "uid", 4242],
  ["size", "size", (n: number) => n + 1],
  ["name", "name", "etc/motd2"],
  ["type", "type", "symlink"],
];

export const CORPUS: CorpusCase[] = [
  // ---- names ----
  {
    name: "TOC name with .. (TOC only)",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, (p) => {
        entry(p, "etc/motd").name = `../../${MARKER}`;
      }),
  },
  {
    name: "TOC and tar-split both climb out with ..",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, (p) => {
        const evil = `../../../${MARKER}`;
        patchTarSplitHeader(p, "etc/motd", (hdr) => {
          hdr.fill(0, 0, 100);
          hdr.write(evil, 0, "latin1");
        });
        for (const l of p.tarSplit) if (l.type === 1 && l.name === "etc/motd") l.name = evil;
        entry(p, "etc/motd").name = evil;
      }),
  },
  {
    name: "absolute TOC name the tar-split does not have",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, (p) => {
        entry(p, "etc/motd").name = `/${MARKER}`;
      }),
  },
  {
    name: "published with absolute names and / and ./ roots: confined",
    outcome: { accepted: true },
    build: () =>
      published([
        { name: "./", type: "5" },
        { name: "./etc/", type: "5" },
        { name: "/etc/abs", data: textContent(500, 4) },
        { name: "./etc/dot", data: textContent(700, 5) },
        { name: "etc/abslink", type: "2", linkname: "/etc/shadow" },
      ]),
  },
  {
    name: "published with the layer root as a symlink",
    outcome: { code: "EFORMAT" },
    build: () =>
      published([
        { name: "./", type: "2", linkname: "/tmp" },
        { name: `./${MARKER}`, data: textContent(100, 6) },
      ]),
  },
  {
    name: "published symlink-then-file escape",
    outcome: { code: "EFORMAT" },
    build: () =>
      published([
        { name: "etc/", type: "5" },
        { name: "etc/evil", type: "2", linkname: "../../../../../../tmp" },
        { name: `etc/evil/${MARKER}`, data: textContent(100, 7) },
      ]),
  },
  {
    name: "published hard link to a path outside the layer",
    outcome: { code: "EFORMAT" },
    build: () =>
      published([
        { name: "etc/", type: "5" },
        { name: "etc/shadow", type: "1" as "0", linkname: `../../../../${MARKER}` },
      ]),
  },
  {
    name: "published hard link to a missing target",
    outcome: { code: "EFORMAT" },
    build: () =>
      published([
        { name: "etc/", type: "5" },
        { name: "etc/h", type: "1" as "0", linkname: "etc/not-in-this-layer" },
      ]),
  },
  // ---- TOC and tar-split disagree ----
  ...DISAGREE.map(
    ([what, field, value]): CorpusCase => ({
      name: `TOC and tar-split disagree: ${what}`,
      outcome: { code: "EFORMAT" },
      build: (h) =>
        tampered(h, (p) => {
          const e = entry(p, what === "type" ? "etc/" : "etc/motd");
          e[field] = typeof value === "function" ? value(e[field]) : value;
          if (what === "type") e.linkName = "/etc/shadow";
        }),
    }),
  ),
  {
    name: "tar-split header changed (uid) while the TOC keeps the old one",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, (p) => {
        patchTarSplitHeader(p, "etc/motd", (hdr) => octal(hdr, 108, 8, 4242));
      }),
  },
  {
    name: "tar-split header gains setuid that the TOC lacks",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, (p) => {
        patchTarSplitHeader(p, "etc/motd", (hdr) => octal(hdr, 100, 8, 0o4755));
      }),
  },
  {
    name: "duplicate TOC entry",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, (p) => {
        p.toc.entries.push({ ...entry(p, "etc/motd") });
      }),
  },
  // ---- payload ----
  {
    name: "file digest in the TOC does not match the chunk",
    outcome: { code: "EDIGEST" },
    build: (h) =>
      tampered(h, (p) => {
        entry(p, "etc/motd").digest = digestOf(Buffer.from("not the motd"));
      }),
  },
  {
    name: "chunk digest of a multi-chunk file does not match",
    outcome: { code: "EDIGEST" },
    build: (h) =>
      tampered(h, (p) => {
        const chunk = p.toc.entries.find((e) => e.type === "chunk");
        if (!chunk) throw new Error("no multi-chunk file in the honest layer");
        chunk.chunkDigest = digestOf(Buffer.from("not this chunk"));
      }),
  },
  {
    name: "a flipped byte inside a payload frame (TOC untouched)",
    outcome: { code: "EDIGEST" },
    build: (h) =>
      tampered(h, (p) => {
        const e = largestFrame(p);
        p.payload[Math.floor((e.offset + e.endOffset) / 2)]! ^= 0x55;
      }),
  },
  {
    name: "decompression bomb behind a small declared size",
    outcome: { code: "EFORMAT" },
    message: /decompression bomb/,
    build: (h) =>
      tampered(h, (p) => {
        const e = largestFrame(p);
        plantBomb(p, e.offset, e.endOffset);
      }),
  },
  {
    name: "overlapping payload offsets",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, (p) => {
        const motd = entry(p, "etc/motd");
        const big = entry(p, "etc/big.bin");
        motd.offset = big.offset;
        motd.endOffset = big.endOffset;
      }),
  },
  {
    name: "non-monotonic payload offsets",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, (p) => {
        const motd = entry(p, "etc/motd");
        const big = entry(p, "etc/big.bin");
        [motd.offset, motd.endOffset, big.offset, big.endOffset] = [
          big.offset,
          big.endOffset,
          motd.offset,
          motd.endOffset,
        ];
      }),
  },
  {
    name: "payload offsets past the blob",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, (p) => {
        const big = entry(p, "etc/big.bin");
        big.endOffset = h.layer.blob.length + 4096;
      }),
  },
  // ---- metadata sizes and positions ----
  {
    name: "huge declared TOC size",
    outcome: { full: true },
    build: (h) =>
      tampered(h, () => {}, {
        annotations: (a) => {
          const key = Object.keys(a).find((k) => k.endsWith("manifest-position"))!;
          const [o, l] = a[key]!.split(":");
          return { ...a, [key]: `${o}:${l}:${200 * 1024 * 1024}:1` };
        },
      }),
  },
  {
    name: "huge declared tar-split size (declared sizes are not trusted)",
    outcome: { accepted: true },
    build: (h) =>
      tampered(h, () => {}, {
        annotations: (a) => {
          const key = Object.keys(a).find((k) => k.endsWith("tarsplit-position"))!;
          const [o, l] = a[key]!.split(":");
          return { ...a, [key]: `${o}:${l}:${16 * 1024 * 1024 * 1024}` };
        },
      }),
  },
  {
    name: "TOC frame that is a decompression bomb (digest matches it)",
    outcome: { full: true },
    build: (h) => tampered(h, () => {}, { compressedToc: zstdRleBomb(2000) }),
  },
  {
    name: "tar-split frame that is a decompression bomb (digest in the TOC matches it)",
    outcome: { full: true },
    build: (h) => tampered(h, () => {}, { compressedTarSplit: zstdRleBomb(9000) }),
  },
  {
    name: "TOC position past 2^53 / wrapping",
    outcome: { code: "EFORMAT" },
    build: (h) =>
      tampered(h, () => {}, {
        annotations: (a) => {
          const key = Object.keys(a).find((k) => k.endsWith("manifest-position"))!;
          return { ...a, [key]: `${Number.MAX_SAFE_INTEGER - 10}:100:100:1` };
        },
      }),
  },
  {
    name: "plain zstd layer with a wrapping skippable-frame size",
    outcome: { code: "ELIMIT" },
    build: async (h) => {
      const z = await zstdCompress(h.tar, 3);
      const huge = Buffer.alloc(8);
      huge.writeUInt32LE(0x184d2a50, 0);
      huge.writeUInt32LE(0xfffffff8, 4);
      const blob = Buffer.concat([huge, z]);
      const layer: BuiltLayer = {
        blob,
        diffId: h.layer.diffId,
        descriptor: {
          mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
          digest: digestOf(blob),
          size: blob.length,
        },
      };
      return assembleImage([layer]);
    },
  },
  {
    name: "both TOC keys, pointing at different TOCs (the zstd:chunked one rules)",
    outcome: { accepted: true },
    build: (h) =>
      tampered(h, () => {}, {
        annotations: (a) => ({ ...a, [ESTARGZ_TOC_DIGEST_KEY]: digestOf(Buffer.from("other")) }),
      }),
  },
  {
    name: "both TOC keys, pointing at different TOCs (strict)",
    outcome: { code: "EFORMAT" },
    strict: true,
    build: (h) =>
      tampered(h, () => {}, {
        annotations: (a) => ({ ...a, [ESTARGZ_TOC_DIGEST_KEY]: digestOf(Buffer.from("other")) }),
      }),
  },
  // ---- manifest, blob, config ----
  {
    name: "registry serves other bytes than the manifest's digest (in a chunk)",
    outcome: { code: "EDIGEST" },
    modes: (h) => ({ corruptByteAt: Math.floor(h.layer.blob.length / 3) }),
    build: async (h) => assembleImage([h.layer]),
  },
  {
    name: "registry serves other bytes than the manifest's digest (in the TOC)",
    outcome: { code: "EDIGEST" },
    modes: (h) => ({ corruptByteAt: tocOffset(h.layer) + 10 }),
    build: async (h) => assembleImage([h.layer]),
  },
  {
    name: "descriptor size larger than the blob",
    outcome: { code: "EFORMAT" },
    build: async (h) =>
      assembleImage([
        { ...h.layer, descriptor: { ...h.layer.descriptor, size: h.layer.blob.length + 100 } },
      ]),
  },
  {
    name: "config diff_id of another tar",
    outcome: { code: "EDIGEST" },
    build: async (h) =>
      assembleImage([{ ...h.layer, diffId: digestOf(Buffer.from("another tar")) as Digest }]),
  },
  {
    name: "config with fewer diff_ids than layers",
    outcome: { code: "EFORMAT" },
    build: async (h) => {
      const image = assembleImage([h.layer, h.layer]);
      const config = JSON.parse(image.config.toString());
      config.rootfs.diff_ids = [h.layer.diffId];
      const withConfig = assembleImage([h.layer, h.layer]);
      const bytes = Buffer.from(JSON.stringify(config));
      const configDescriptor = {
        ...withConfig.configDescriptor,
        digest: digestOf(bytes),
        size: bytes.length,
      };
      const manifest = JSON.parse(withConfig.manifest.toString());
      manifest.config = configDescriptor;
      const m = Buffer.from(JSON.stringify(manifest));
      return {
        ...withConfig,
        config: bytes,
        configDescriptor,
        manifest: m,
        manifestDigest: digestOf(m),
      };
    },
  },
];

function tocOffset(layer: BuiltLayer): number {
  const a = layer.descriptor.annotations ?? {};
  const key = Object.keys(a).find((k) => k.endsWith("manifest-position"))!;
  return Number(a[key]!.split(":")[0]);
}

export { withBlob };

/** eStargz: the same honest files written by the eStargz writer, then damaged. */
export async function estargzHonest(h: Honest): Promise<BuiltLayer> {
  return buildLayer(h.tar, "estargz");
}

/** Flip a byte of the gzip CRC-32 trailer of the member holding `name`'s first chunk. */
export async function estargzBadCrc(layer: BuiltLayer, name: string): Promise<BuiltLayer> {
  const { openChunkedLayer } = await import("../../src/formats/open.js");
  const src = {
    size: layer.blob.length,
    read: async (ranges: readonly { offset: number; length: number }[]) =>
      ranges.map((r) => layer.blob.subarray(r.offset, r.offset + r.length)),
  };
  const opened = await openChunkedLayer(src, layer.descriptor.annotations);
  const file = opened.files.find((f) => f.name === name || f.name === `/${name}`);
  if (!file) throw new Error(`no ${name} in the eStargz layer`);
  const bad = Buffer.from(layer.blob);
  bad[file.chunks[0]!.end - 8]! ^= 0xff;
  return withBlob(layer, bad);
}

CORPUS.push(
  {
    name: "eStargz member with a bad gzip CRC (chunk digest still right)",
    outcome: { code: "EFORMAT" },
    message:
      /^layer sha256:[0-9a-f]{64}: .*gzip data does not inflate within its first \d+ compressed bytes: incorrect data check \(Z_DATA_ERROR\)/,
    build: async (h) => assembleImage([await estargzBadCrc(await estargzHonest(h), "etc/motd")]),
  },
  {
    name: "eStargz TOC name with .. (published)",
    outcome: { code: "EFORMAT" },
    build: async () =>
      assembleImage([
        await buildLayer(
          makeTar([
            { name: "etc/", type: "5" },
            { name: "etc/evil", type: "2", linkname: "/" },
            { name: `etc/evil/${MARKER}`, data: textContent(100, 9) },
          ]),
          "estargz",
        ),
      ]),
  },
);

CORPUS.push({
  name: "gzip layer served with a flipped byte (full pull)",
  outcome: { code: "EFORMAT" },
  message: /^layer sha256:[0-9a-f]{64}: gzip layer stream: gzip data does not inflate/,
  modes: () => ({ corruptByteAt: 2000 }),
  build: async (h) => assembleImage([await buildLayer(h.tar, "gzip")]),
});

CORPUS.push({
  // A full pull has no TOC to hold the tree rules against: the store keeps content by digest
  // and never extracts, so the layer is proven by its diff_id and recorded; confining it is the
  // extracting side's job (docs/security.md).
  name: "gzip layer published with symlink-then-file (full pull, recorded by digest only)",
  outcome: { full: true },
  build: async () =>
    assembleImage([
      await buildLayer(
        makeTar([
          { name: "etc/", type: "5" },
          { name: "etc/evil", type: "2", linkname: "../../../../../../tmp" },
          { name: `etc/evil/${MARKER}`, data: textContent(100, 10) },
        ]),
        "gzip",
      ),
    ]),
});

/** A byte flipped in the middle of `name`'s first compressed chunk (blob digest follows). */
async function flipInChunk(layer: BuiltLayer, name: string): Promise<BuiltLayer> {
  const { openChunkedLayer } = await import("../../src/formats/open.js");
  const src = {
    size: layer.blob.length,
    read: async (ranges: readonly { offset: number; length: number }[]) =>
      ranges.map((r) => layer.blob.subarray(r.offset, r.offset + r.length)),
  };
  const opened = await openChunkedLayer(src, layer.descriptor.annotations);
  const c = opened.files.find((f) => f.name.replace(/^\//, "") === name)!.chunks[0]!;
  const bad = Buffer.from(layer.blob);
  bad[Math.floor((c.offset + c.end) / 2)]! ^= 0x55;
  return withBlob(layer, bad);
}

CORPUS.push(
  {
    name: "eStargz under --verify toc: symlink-then-file",
    outcome: { code: "EFORMAT" },
    verify: "toc",
    build: async () =>
      assembleImage([
        await buildLayer(
          makeTar([
            { name: "etc/", type: "5" },
            { name: "etc/evil", type: "2", linkname: "/" },
            { name: `etc/evil/${MARKER}`, data: textContent(100, 11) },
          ]),
          "estargz",
        ),
      ]),
  },
  {
    name: "eStargz under --verify toc: a payload byte flipped",
    outcome: { code: "EFORMAT" },
    verify: "toc",
    build: async (h) => assembleImage([await flipInChunk(await estargzHonest(h), "etc/app.conf")]),
  },
);

CORPUS.push(
  {
    name: "no tar-split: the skeleton frames prove the honest tar (control)",
    outcome: { accepted: true },
    build: (h) => tampered(h, () => {}, { noTarSplit: true }),
  },
  {
    name: "no tar-split: a skeleton frame replaced by a bomb",
    outcome: { code: "ELIMIT" },
    build: (h) =>
      tampered(
        h,
        (p) => {
          const first = Math.min(
            ...p.toc.entries.filter((e) => e.offset > 0).map((e) => e.offset as number),
          );
          plantBomb(p, 0, first);
        },
        { noTarSplit: true },
      ),
  },
);
