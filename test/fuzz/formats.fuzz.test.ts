/**
 * Property-based fuzzing of the format parsers (fast-check): footers, annotations, TOC JSON
 * (both formats), tar-split and tar headers. Inputs are random and, more usefully, valid inputs
 * written by the project's own writers with bytes overwritten, cut or extended.
 */
import { describe, test } from "node:test";
import fc from "fast-check";
import { detectFromAnnotations, detectFromTail } from "../../src/formats/detect.js";
import { encodeEstargzFooter, parseEstargzFooter } from "../../src/formats/estargz/footer.js";
import { parseToc as parseEstargzToc } from "../../src/formats/estargz/toc.js";
import { readTar } from "../../src/formats/tar/reader.js";
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from "../../src/formats/tar/writer.js";
import { TarSplitBuilder } from "../../src/formats/tarsplit/builder.js";
import { iterateHeaders } from "../../src/formats/tarsplit/headers.js";
import { readTarSplit } from "../../src/formats/tarsplit/reader.js";
import {
  ESTARGZ_TOC_DIGEST_KEY,
  LEGACY_MANIFEST_CHECKSUM_KEY,
  LEGACY_MANIFEST_POSITION_KEY,
  MANIFEST_CHECKSUM_KEY,
  MANIFEST_POSITION_KEY,
  parseZstdChunkedAnnotations,
  TARSPLIT_CHECKSUM_KEY,
  TARSPLIT_POSITION_KEY,
} from "../../src/formats/zstdchunked/annotations.js";
import { encodeFooter, parseFooter } from "../../src/formats/zstdchunked/footer.js";
import { parseToc } from "../../src/formats/zstdchunked/toc.js";
import { mutated, nasty, params, pieces, typedAsync, typedSync } from "./harness.js";

const TIMEOUT = { timeout: 120_000 };

const position = fc.record({
  offset: fc.nat({ max: 1 << 30 }),
  length: fc.nat({ max: 1 << 20 }),
  uncompressedLength: fc.nat({ max: 1 << 24 }),
});

async function drain<T>(it: AsyncIterable<T>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

describe("fuzz: footers", () => {
  test("zstd:chunked footer", TIMEOUT, () => {
    const valid = fc.tuple(position, position).map(([a, b]) => encodeFooter(a, b));
    fc.assert(
      fc.property(
        fc.oneof(valid.chain(mutated), fc.uint8Array({ maxLength: 100 }).map(Buffer.from)),
        fc.nat({ max: 2 ** 31 }),
        (tail, size) => {
          typedSync("parseFooter", () => parseFooter(tail, size));
          typedSync("detectFromTail", () => detectFromTail(tail, size));
        },
      ),
      params(),
    );
  });

  test("eStargz footer", TIMEOUT, () => {
    const valid = fc.nat({ max: 1 << 30 }).map((o) => encodeEstargzFooter(o));
    fc.assert(
      fc.property(
        fc.oneof(valid.chain(mutated), fc.uint8Array({ maxLength: 80 }).map(Buffer.from)),
        fc.option(fc.nat({ max: 2 ** 31 }), { nil: undefined }),
        (tail, size) => typedSync("parseEstargzFooter", () => parseEstargzFooter(tail, size)),
      ),
      params(),
    );
  });
});

describe("fuzz: annotations", () => {
  const KEYS = [
    MANIFEST_CHECKSUM_KEY,
    MANIFEST_POSITION_KEY,
    TARSPLIT_POSITION_KEY,
    TARSPLIT_CHECKSUM_KEY,
    LEGACY_MANIFEST_CHECKSUM_KEY,
    LEGACY_MANIFEST_POSITION_KEY,
    ESTARGZ_TOC_DIGEST_KEY,
  ];
  const value = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc
      .array(fc.oneof(fc.nat().map(String), fc.string({ maxLength: 5 })), { maxLength: 5 })
      .map((p) => p.join(":")),
    fc.stringMatching(/^sha256:[0-9a-f]{0,70}$/),
    fc.constantFrom(`sha256:${"a".repeat(64)}`, "1:2:3:1", "18446744073709551616:1:1:1", "-1:2:3"),
  );
  test("parseZstdChunkedAnnotations and detectFromAnnotations", TIMEOUT, () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 10 })), value, {
          maxKeys: 6,
        }),
        fc.boolean(),
        (a, strict) => {
          typedSync("parseZstdChunkedAnnotations", () => parseZstdChunkedAnnotations(a));
          typedSync("detectFromAnnotations", () => detectFromAnnotations(a, { strict }));
        },
      ),
      params(),
    );
  });
});

describe("fuzz: TOC JSON", () => {
  const types = fc.oneof(
    fc.constantFrom("reg", "dir", "symlink", "hardlink", "chunk", "char", "block", "fifo"),
    fc.string({ maxLength: 6 }),
  );
  const name = fc.oneof(
    fc.constantFrom("a", "a/b", "./a", "/a", "../a", "a/../../b", "", "/", "a\0b", "a/"),
    fc.string({ maxLength: 12 }),
  );
  const digest = fc.oneof(
    fc.constantFrom(`sha256:${"0".repeat(64)}`, "", "sha256:", "md5:00"),
    fc.string({ maxLength: 8 }),
  );
  const field = (v: fc.Arbitrary<unknown>) => fc.oneof({ weight: 4, arbitrary: v }, nasty);
  const entry = fc.record(
    {
      name: field(name),
      type: field(types),
      size: field(fc.nat({ max: 1 << 20 })),
      mode: field(fc.nat({ max: 0o7777 })),
      uid: field(fc.nat()),
      gid: field(fc.nat()),
      linkName: field(name),
      digest: field(digest),
      offset: field(fc.nat({ max: 1 << 20 })),
      endOffset: field(fc.nat({ max: 1 << 20 })),
      chunkOffset: field(fc.nat({ max: 1 << 20 })),
      chunkSize: field(fc.nat({ max: 1 << 20 })),
      chunkDigest: field(digest),
      chunkType: field(fc.constantFrom("", "zeros", "x")),
      modtime: field(fc.constantFrom("2024-01-01T00:00:00Z", "not a time", "")),
      xattrs: field(fc.dictionary(fc.string({ maxLength: 4 }), fc.base64String({ maxLength: 8 }))),
    },
    { requiredKeys: [] },
  );
  const toc = fc.record(
    {
      version: field(fc.constantFrom(1, 2)),
      entries: fc.oneof({ weight: 5, arbitrary: fc.array(entry, { maxLength: 12 }) }, nasty),
      tarSplitDigest: field(digest),
    },
    { requiredKeys: [] },
  );
  const json = fc.oneof(
    { weight: 6, arbitrary: toc.map((t) => Buffer.from(JSON.stringify(t))) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: fc.json().map((s) => Buffer.from(s)) },
  );

  test("zstd:chunked TOC", TIMEOUT, () => {
    fc.assert(
      fc.property(json, (j) => typedSync("zstdchunked parseToc", () => parseToc(j))),
      params(),
    );
  });

  test("eStargz TOC", TIMEOUT, () => {
    fc.assert(
      fc.property(json, fc.nat({ max: 1 << 21 }), (j, dataEnd) =>
        typedSync("estargz parseToc", () => parseEstargzToc(j, dataEnd)),
      ),
      params(),
    );
  });
});

/** A small valid tar: a directory, two files, a symlink, a long (PAX) name. */
function sampleTar(): Buffer {
  const parts: Buffer[] = [encodeTarHeader({ name: "d/", typeflag: "5", size: 0, mode: 0o755 })];
  for (const [name, body] of [
    ["d/a", "hello"],
    [`d/${"x".repeat(120)}`, "a long name needs a PAX header"],
  ] as const) {
    const data = Buffer.from(body);
    parts.push(encodeTarHeader({ name, typeflag: "0", size: data.length, mode: 0o644 }));
    parts.push(data, tarPadding(data.length));
  }
  parts.push(encodeTarHeader({ name: "d/l", typeflag: "2", size: 0, mode: 0o777, linkname: "a" }));
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

async function tarSplitOf(tar: Buffer): Promise<Buffer> {
  const b = new TarSplitBuilder();
  let out = "";
  for await (const ev of readTar([tar])) out += b.push(ev);
  return Buffer.from(out + b.finish());
}

describe("fuzz: tar and tar-split", () => {
  const tar = sampleTar();

  test("tar reader on mutated tars, in random pieces", TIMEOUT, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(mutated(tar), fc.uint8Array({ maxLength: 2048 }).map(Buffer.from)),
        fc.array(fc.nat(), { maxLength: 6 }),
        (t, cuts) => typedAsync("readTar", () => drain(readTar(pieces(t, cuts)))),
      ),
      params(),
    );
  });

  test("tar-split reader and header decoding on mutated tar-splits", TIMEOUT, async () => {
    const valid = await tarSplitOf(tar);
    const line = fc.record(
      {
        type: fc.oneof(fc.constantFrom(1, 2), nasty),
        name: fc.oneof(fc.string({ maxLength: 10 }), nasty),
        name_raw: fc.oneof(fc.base64String({ maxLength: 12 }), nasty),
        size: fc.oneof(fc.nat({ max: 4096 }), nasty),
        payload: fc.oneof(
          fc.base64String({ maxLength: 700 }),
          fc.constant(valid.subarray(0, 0).toString("base64")),
          nasty,
        ),
        position: fc.oneof(fc.nat({ max: 10 }), nasty),
      },
      { requiredKeys: [] },
    );
    const text = fc.oneof(
      mutated(valid),
      fc
        .array(line, { maxLength: 6 })
        .map((ls) => Buffer.from(ls.map((l) => `${JSON.stringify(l)}\n`).join(""))),
    );
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 4 }), (ts, cuts) =>
        typedAsync("readTarSplit/iterateHeaders", () =>
          drain(iterateHeaders(readTarSplit(pieces(ts, cuts)))),
        ),
      ),
      params(),
    );
  });
});
