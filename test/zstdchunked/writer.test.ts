import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { digestOf } from "../../src/digest.js";
import { UnsupportedError } from "../../src/errors.js";
import { zstdDecompress } from "../../src/formats/zstd.js";
import { parseFooter } from "../../src/formats/zstdchunked/footer.js";
import { openZstdChunked } from "../../src/formats/zstdchunked/reader.js";
import { rebuildTar } from "../../src/formats/zstdchunked/rebuild.js";
import { parseToc } from "../../src/formats/zstdchunked/toc.js";
import { encodeToc } from "../../src/formats/zstdchunked/toc-encode.js";
import { convertToZstdChunked } from "../../src/formats/zstdchunked/writer.js";
import { CASES, casesWith, readVector, vectorPath } from "../helpers/vectors.js";
import { bytes, convertBytes, convertFile, memorySource, sha256Of } from "./helpers.js";

/** Offsets and the tar-split digest depend on the compressor; everything else must match Go. */
function normaliseTocText(text: string): string {
  return text
    .replace(/"(offset|endOffset)":\d+,?/g, "")
    .replace(/,"tarSplitDigest":"[^"]*"/, "")
    .replace(/,}/g, "}");
}

describe("convertToZstdChunked against c/storage v1.59.1 output", () => {
  for (const name of casesWith("zstdchunked-v2")) {
    it(`${name}: same tar-split and TOC, blob decompresses to input.tar`, async () => {
      const input = readVector(name, "input.tar");
      const { blob, result } = await convertFile(vectorPath(name, "input.tar"));
      assert.equal(result.blobSize, blob.length);
      assert.equal(result.blobDigest, digestOf(blob));
      assert.equal(result.diffId, CASES[name]!.input_diff_id);
      const whole = await zstdDecompress(blob, input.length + 1);
      assert.ok(whole.equals(input), "blob decompresses to input.tar byte for byte");

      const ts = result.tarSplitPosition;
      const tsCompressed = blob.subarray(ts.offset, ts.offset + ts.length);
      assert.equal(digestOf(tsCompressed), result.tarSplitDigest);
      const tarSplit = await zstdDecompress(tsCompressed, 1 << 30);
      assert.ok(
        tarSplit.equals(readVector(name, "zstdchunked-v2.tarsplit.json")),
        "tar-split bytes",
      );
      assert.equal(tarSplit.length, ts.uncompressedLength);

      const tp = result.tocPosition;
      const tocCompressed = blob.subarray(tp.offset, tp.offset + tp.length);
      assert.equal(digestOf(tocCompressed), result.tocDigest);
      const tocJson = await zstdDecompress(tocCompressed, 1 << 30);
      assert.equal(tocJson.length, tp.uncompressedLength);
      const expected = readVector(name, "zstdchunked-v2.toc.json").toString("utf8");
      assert.equal(normaliseTocText(tocJson.toString("utf8")), normaliseTocText(expected));
      assert.equal(encodeToc(result.toc), tocJson.toString("utf8"));
      const strip = (t: string) =>
        parseToc(Buffer.from(t)).entries.map((e) => ({ ...e, offset: 0, endOffset: 0 }));
      assert.deepEqual(strip(tocJson.toString("utf8")), strip(expected));
      assert.equal(parseToc(tocJson).tarSplitDigest, result.tarSplitDigest);

      const a = result.annotations;
      assert.equal(a["io.github.containers.zstd-chunked.manifest-checksum"], result.tocDigest);
      assert.equal(
        a["io.github.containers.zstd-chunked.manifest-position"],
        `${tp.offset}:${tp.length}:${tp.uncompressedLength}:1`,
      );
      assert.equal(
        a["io.github.containers.zstd-chunked.tarsplit-position"],
        `${ts.offset}:${ts.length}:${ts.uncompressedLength}`,
      );
      assert.equal(a["io.github.containers.zstd-chunked.tarsplit-checksum"], undefined);
      assert.equal(blob.readUInt32LE(tp.offset - 8), 0x184d2a50);
      assert.equal(blob.readUInt32LE(tp.offset - 4), tp.length);
      assert.equal(ts.offset, tp.offset + tp.length + 8);
      assert.equal(blob.length, ts.offset + ts.length + 72);
      const footer = parseFooter(blob.subarray(blob.length - 72), blob.length);
      assert.equal(footer.variant, "C");
      assert.deepEqual(footer.toc, tp);
      assert.deepEqual(footer.tarSplit, ts);
    });
  }

  it("emits tarsplit-checksum when asked", async () => {
    const parts: Buffer[] = [];
    const result = await convertToZstdChunked(
      bytes(readVector("small", "input.tar")),
      (c) => {
        parts.push(c);
      },
      { legacyTarSplitChecksum: true },
    );
    assert.equal(
      result.annotations["io.github.containers.zstd-chunked.tarsplit-checksum"],
      result.tarSplitDigest,
    );
  });
});

/** A minimal ustar header block (checksum filled in). */
function tarHeader(name: string, typeflag: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, "utf8");
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  h.write("14524770400\0", 136);
  h.write("        ", 148);
  h.write(typeflag, 156);
  h.write("ustar\x0000", 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return h;
}

function entry(name: string, typeflag: string, data: Buffer): Buffer {
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([tarHeader(name, typeflag, data.length), data, Buffer.alloc(pad)]);
}

function tarOf(...entries: Buffer[]): Buffer {
  return Buffer.concat([...entries, Buffer.alloc(1024)]);
}

describe("convertToZstdChunked refuses what c/storage cannot represent", () => {
  it("accepts a hand-made tar (sanity check of the helpers)", async () => {
    const tar = tarOf(entry("a", "0", Buffer.from("hello\n")), entry("d/", "5", Buffer.alloc(0)));
    const { blob, result } = await convertBytes(tar);
    assert.ok((await zstdDecompress(blob, 1 << 20)).equals(tar));
    assert.equal(result.toc.entries.length, 2);
  });
  it("duplicate paths", async () => {
    const tar = tarOf(entry("a", "0", Buffer.from("x")), entry("./a", "0", Buffer.from("y")));
    await assert.rejects(convertBytes(tar), (e: Error) => /duplicate/.test(e.message));
  });
  it("PAX global headers", async () => {
    const g = entry("pax_global_header", "g", Buffer.from("19 comment=hello!!\n"));
    await assert.rejects(
      convertBytes(tarOf(g, entry("a", "0", Buffer.from("x")))),
      UnsupportedError,
    );
  });
  it("sparse entries", async () => {
    await assert.rejects(convertBytes(tarOf(entry("s", "S", Buffer.alloc(0)))), UnsupportedError);
  });
  it("hard links with a non-zero size (P21)", async () => {
    const link = tarHeader("l", "1", 5);
    link.write("a", 157);
    let sum = 0;
    link.write("        ", 148);
    for (const b of link) sum += b;
    link.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
    const tar = tarOf(entry("a", "0", Buffer.from("hello")), link);
    await assert.rejects(convertBytes(tar), UnsupportedError);
  });

  it("splits chunks larger than 8 MiB into several frames that still decode as one chunk", async () => {
    const payload = Buffer.concat([
      Buffer.alloc(20 * 1024 * 1024, 1), // constant bytes: the rollsum never splits
      Buffer.alloc(9 * 1024 * 1024), // one zeros chunk
      Buffer.from("tail"),
    ]);
    const tar = tarOf(entry("big", "0", payload));
    const { blob, result } = await convertBytes(tar);
    assert.ok((await zstdDecompress(blob, tar.length + 1)).equals(tar));
    const src = memorySource(blob);
    const layer = await openZstdChunked(src, { annotations: result.annotations });
    const chunks = layer.files[0]!.chunks;
    assert.deepEqual(
      chunks.map((c) => [c.size, c.zeros]),
      [
        [20 * 1024 * 1024, false],
        [9 * 1024 * 1024, true],
        [4, false],
      ],
    );
    const [raw] = await src.read([
      { offset: chunks[0]!.offset, length: chunks[0]!.end - chunks[0]!.offset },
    ]);
    // three zstd frames (8 + 8 + 4 MiB of input) inside the first chunk's range
    assert.equal(raw!.subarray(4).indexOf(raw!.subarray(0, 4)) > 0, true);
    assert.ok(
      (await layer.decodeChunk(raw!, chunks[0]!)).equals(payload.subarray(0, 20 * 1024 * 1024)),
    );
    assert.equal(await sha256Of(rebuildTar(src, layer)), digestOf(tar));
  });
});
