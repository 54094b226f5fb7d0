import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FormatError } from "../../src/errors.js";
import {
  MANIFEST_CHECKSUM_KEY,
  MANIFEST_POSITION_KEY,
  parseZstdChunkedAnnotations,
  TARSPLIT_POSITION_KEY,
  zstdChunkedAnnotations,
} from "../../src/formats/zstdchunked/annotations.js";
import {
  encodeFooter,
  encodeFooterV1,
  FOOTER_TAIL_SIZE,
  parseFooter,
} from "../../src/formats/zstdchunked/footer.js";
import { CASES, casesWith, readVector } from "../helpers/vectors.js";

const D = `sha256:${"ab".repeat(32)}` as const;

function tailOf(blob: Buffer): Buffer {
  return blob.subarray(Math.max(0, blob.length - FOOTER_TAIL_SIZE));
}

describe("annotations", () => {
  it("parses every vector's annotations by generation", () => {
    for (const [name, c] of Object.entries(CASES)) {
      for (const [format, b] of Object.entries(c.blobs)) {
        const parsed = parseZstdChunkedAnnotations(b.annotations);
        const what = `${name}/${format}`;
        if (format === "estargz" || format === "estargz-zstd") {
          assert.equal(parsed, undefined, what);
          continue;
        }
        assert.ok(parsed, what);
        assert.equal(parsed.tocDigest, b.toc_digest, what);
        assert.equal(parsed.legacyKeys, format === "zstdchunked-v1", what);
        assert.equal(parsed.tarSplit !== undefined, format !== "zstdchunked-v1", what);
        assert.equal(parsed.tarSplitChecksum !== undefined, format === "zstdchunked-v2-legacy151");
      }
    }
  });

  const withPos = (pos: string) => ({ [MANIFEST_CHECKSUM_KEY]: D, [MANIFEST_POSITION_KEY]: pos });
  it("parses positions strictly", () => {
    assert.deepEqual(parseZstdChunkedAnnotations(withPos("10:20:30:1"))?.toc, {
      offset: 10,
      length: 20,
      uncompressedLength: 30,
    });
    for (const bad of [
      "+10:20:30:1",
      " 10:20:30:1",
      "10:20:30:1 ",
      "10:20:30:1x",
      "10:20:30",
      "10:20:30:2",
      "-1:20:30:1",
      "1.5:20:30:1",
      "99999999999999999999:1:1:1",
      "9007199254740993:1:1:1",
      "",
    ]) {
      assert.throws(() => parseZstdChunkedAnnotations(withPos(bad)), FormatError, bad);
    }
    assert.throws(
      () =>
        parseZstdChunkedAnnotations({ ...withPos("1:2:3:1"), [TARSPLIT_POSITION_KEY]: "1:2:3:1" }),
      FormatError,
    );
  });

  it("rejects ambiguity, missing positions and bad digests", () => {
    assert.throws(
      () =>
        parseZstdChunkedAnnotations({
          ...withPos("1:2:3:1"),
          "containerd.io/snapshot/stargz/toc.digest": D,
        }),
      /both/,
    );
    assert.throws(() => parseZstdChunkedAnnotations({ [MANIFEST_CHECKSUM_KEY]: D }), /missing/);
    assert.throws(() =>
      parseZstdChunkedAnnotations({ ...withPos("1:2:3:1"), [MANIFEST_CHECKSUM_KEY]: "" }),
    );
    assert.equal(parseZstdChunkedAnnotations({}), undefined);
  });

  it("round-trips what the writer emits", () => {
    const a = zstdChunkedAnnotations({
      tocDigest: D,
      toc: { offset: 1008, length: 300, uncompressedLength: 2000 },
      tarSplit: { offset: 1316, length: 150, uncompressedLength: 900 },
    });
    assert.equal(a[MANIFEST_POSITION_KEY], "1008:300:2000:1");
    assert.equal(a[TARSPLIT_POSITION_KEY], "1316:150:900");
    assert.deepEqual(parseZstdChunkedAnnotations(a)?.tarSplit, {
      offset: 1316,
      length: 150,
      uncompressedLength: 900,
    });
  });
});

describe("footer", () => {
  it("detects the variant of every vector blob, positions equal to the annotations", () => {
    const expected: Record<string, string> = {
      "zstdchunked-v2": "C",
      "zstdchunked-v2-legacy151": "C",
      "zstdchunked-v1": "A",
      // stargz-snapshotter writes the same 40-byte layout: only annotations/TOC shape tell it apart
      "estargz-zstd": "A",
    };
    for (const [format, variant] of Object.entries(expected)) {
      for (const name of casesWith(format)) {
        const blob = readVector(name, `${format}.blob`);
        const f = parseFooter(tailOf(blob), blob.length);
        assert.equal(f.variant, variant, `${name}/${format}`);
        const ann = parseZstdChunkedAnnotations(CASES[name]!.blobs[format]!.annotations);
        if (ann) {
          assert.deepEqual(f.toc, ann.toc);
          if (variant === "C") assert.deepEqual(f.tarSplit, ann.tarSplit);
        }
      }
    }
    assert.throws(() => {
      const blob = readVector("small", "estargz.blob");
      parseFooter(tailOf(blob), blob.length);
    }, FormatError);
  });

  it("matches the spec §1.8 worked example", () => {
    const frame = encodeFooter(
      { offset: 1008, length: 300, uncompressedLength: 2000 },
      { offset: 1316, length: 150, uncompressedLength: 900 },
    );
    assert.equal(
      frame.toString("hex"),
      "502a4d1840000000" +
        "f003000000000000" +
        "2c01000000000000" +
        "d007000000000000" +
        "0100000000000000" +
        "2405000000000000" +
        "9600000000000000" +
        "8403000000000000" +
        "474e556c496e5578",
    );
    const blob = Buffer.concat([Buffer.alloc(1466), frame]);
    assert.equal(blob.length, 1538);
    const f = parseFooter(tailOf(blob), blob.length);
    assert.equal(f.variant, "C");
    assert.equal(f.tarSplit?.offset, 1316);
  });

  it("reads the broken 56-byte variant B and derives the tar-split frame", () => {
    const v1 = encodeFooterV1({ offset: 1008, length: 300, uncompressedLength: 2000 });
    const b = Buffer.concat([
      v1.subarray(0, 4),
      Buffer.from([56, 0, 0, 0]),
      v1.subarray(8),
      Buffer.alloc(16),
    ]);
    const blob = Buffer.concat([Buffer.alloc(1466), b]);
    const f = parseFooter(tailOf(blob), blob.length);
    assert.equal(f.variant, "B");
    assert.deepEqual(f.tarSplit, { offset: 1316, length: 1466 - 1316, uncompressedLength: 0 });
  });

  it("rejects out-of-range positions, a wrong manifest type and garbage", () => {
    const ts = { offset: 1316, length: 150, uncompressedLength: 900 };
    const mk = (toc: { offset: number; length: number; uncompressedLength: number }, t = ts) => {
      const blob = Buffer.concat([Buffer.alloc(1466), encodeFooter(toc, t)]);
      return () => parseFooter(tailOf(blob), blob.length);
    };
    assert.throws(mk({ offset: 1008, length: 3000, uncompressedLength: 1 }), /outside/);
    assert.throws(mk({ offset: 4, length: 3, uncompressedLength: 1 }), /outside/);
    assert.throws(
      mk({ offset: 1008, length: 300, uncompressedLength: 1 }, { ...ts, length: 151 }),
      /outside/,
    );
    const wrongType = Buffer.concat([
      Buffer.alloc(1466),
      encodeFooter({ offset: 1008, length: 300, uncompressedLength: 1 }, ts),
    ]);
    wrongType.writeUInt32LE(2, 1466 + 8 + 24);
    assert.throws(() => parseFooter(tailOf(wrongType), wrongType.length), /manifest type/);
    assert.throws(() => parseFooter(Buffer.alloc(72), 5000), /no zstd:chunked footer/);
    assert.throws(() => parseFooter(Buffer.alloc(10), 10), /no zstd:chunked footer/);
  });
});
