import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { digestOf } from "../../src/digest.js";
import {
  DigestMismatchError,
  FallbackError,
  FormatError,
  UnsupportedError,
} from "../../src/errors.js";
import { zstdDecompress } from "../../src/formats/zstd.js";
import {
  MANIFEST_CHECKSUM_KEY,
  MANIFEST_POSITION_KEY,
} from "../../src/formats/zstdchunked/annotations.js";
import { openZstdChunked } from "../../src/formats/zstdchunked/reader.js";
import { rebuildTar } from "../../src/formats/zstdchunked/rebuild.js";
import { parseToc, type Toc } from "../../src/formats/zstdchunked/toc.js";
import { encodeToc } from "../../src/formats/zstdchunked/toc-encode.js";
import type { ConvertResult } from "../../src/formats/zstdchunked/writer.js";
import { CASES, readVector, vectorPath } from "../helpers/vectors.js";
import { convertFile, memorySource, sha256Of, withToc } from "./helpers.js";

let blob: Buffer;
let result: ConvertResult;
let tocJson: string;
let tarSplit: Buffer;

before(async () => {
  ({ blob, result } = await convertFile(vectorPath("small", "input.tar")));
  const tp = result.tocPosition;
  tocJson = (
    await zstdDecompress(blob.subarray(tp.offset, tp.offset + tp.length), 1 << 24)
  ).toString();
  const ts = result.tarSplitPosition;
  tarSplit = blob.subarray(ts.offset, ts.offset + ts.length);
});

/** Open the blob after replacing its TOC by `mutate(toc)` (digests recomputed). */
async function openMutated(mutate: (toc: Toc) => void) {
  const toc = parseToc(Buffer.from(tocJson));
  mutate(toc);
  const m = await withToc(blob, result.tocPosition.offset, tarSplit, encodeToc(toc));
  return openZstdChunked(memorySource(m.blob), { annotations: m.annotations });
}

const byName = (toc: Toc, name: string) => toc.entries.find((e) => e.name === name)!;

describe("hostile zstd:chunked blobs", () => {
  it("control: an unmodified re-encoded TOC opens and rebuilds", async () => {
    const layer = await openMutated(() => {});
    assert.equal(layer.tarSplitTrust, "toc");
  });

  it("truncated blob", async () => {
    const cut = blob.subarray(0, blob.length - 100);
    await assert.rejects(
      openZstdChunked(memorySource(cut), { annotations: result.annotations }),
      FormatError,
    );
    await assert.rejects(openZstdChunked(memorySource(cut)), FormatError);
    await assert.rejects(openZstdChunked(memorySource(blob.subarray(0, 5))), FormatError);
  });

  it("wrong TOC digest", async () => {
    const annotations = {
      ...result.annotations,
      [MANIFEST_CHECKSUM_KEY]: digestOf(Buffer.from("x")),
    };
    await assert.rejects(openZstdChunked(memorySource(blob), { annotations }), DigestMismatchError);
  });

  it("wrong tar-split digest in the TOC", async () => {
    await assert.rejects(
      openMutated((toc) => {
        toc.tarSplitDigest = digestOf(Buffer.from("not the tar-split"));
      }),
      DigestMismatchError,
    );
  });

  it("TOC disagreeing with the tar-split (setuid only in the TOC, P6)", async () => {
    await assert.rejects(
      openMutated((toc) => {
        byName(toc, "etc/motd").mode |= 0o4000;
      }),
      (e: Error) => e instanceof FormatError && /inconsistent.*etc\/motd.*mode/.test(e.message),
    );
    await assert.rejects(
      openMutated((toc) => {
        byName(toc, "usr/share/link-rel").linkName = "/etc/shadow";
      }),
      /inconsistent.*linkName/,
    );
    await assert.rejects(
      openMutated((toc) => {
        byName(toc, "etc/").modtime = "2023-11-14T22:13:20.000000001Z";
      }),
      /inconsistent.*modtime/,
    );
    await assert.rejects(
      openMutated((toc) => {
        toc.entries.pop();
      }),
      /missing in TOC/,
    );
  });

  it("names escaping the root", async () => {
    await assert.rejects(
      openMutated((toc) => {
        byName(toc, "usr/").name = "../../usr/";
      }),
      /escapes the layer root/,
    );
    // an absolute name is confined, but no longer matches its tar-split header
    await assert.rejects(
      openMutated((toc) => {
        byName(toc, "etc/motd").name = "/etc/motd";
      }),
      FormatError,
    );
  });

  it("overlapping and out-of-range payload offsets", async () => {
    await assert.rejects(
      openMutated((toc) => {
        byName(toc, "etc/motd").offset = byName(toc, "etc/hostname").offset;
      }),
      /overlaps/,
    );
    await assert.rejects(
      openMutated((toc) => {
        const last = toc.entries.filter((e) => e.type === "reg" && e.size > 0).pop()!;
        last.endOffset = result.tocPosition.offset + 100;
      }),
      /reaches the TOC/,
    );
  });

  it("oversized or impossible metadata claims", async () => {
    const [o, l] = result.annotations[MANIFEST_POSITION_KEY]!.split(":");
    const claim = (pos: string) =>
      openZstdChunked(memorySource(blob), {
        annotations: { ...result.annotations, [MANIFEST_POSITION_KEY]: pos },
      });
    await assert.rejects(claim(`${o}:${l}:${200 * 1024 * 1024}:1`), FallbackError);
    await assert.rejects(claim(`${o}:${160 * 1024 * 1024}:1000:1`), FallbackError);
    await assert.rejects(claim(`${o}:${blob.length}:1000:1`), /outside the blob/);
  });

  it("corrupted chunk bytes", async () => {
    const motd = (
      await openZstdChunked(memorySource(blob), { annotations: result.annotations })
    ).files.find((f) => f.name === "/etc/motd")!;
    const bad = Buffer.from(blob);
    const c = motd.chunks[0]!;
    bad[c.offset + Math.floor((c.end - c.offset) / 2)]! ^= 0x55;
    const src = memorySource(bad);
    const layer = await openZstdChunked(src, { annotations: result.annotations });
    await assert.rejects(sha256Of(rebuildTar(src, layer)), (e: Error) => {
      return e instanceof FormatError || e instanceof DigestMismatchError;
    });

    // a multi-chunk file: decodeChunk itself catches it through the chunk digest
    const big = readVector("bigfile", "zstdchunked-v2.blob");
    const bigSrc = memorySource(big);
    const bigLayer = await openZstdChunked(bigSrc, {
      annotations: CASES.bigfile!.blobs["zstdchunked-v2"]!.annotations,
    });
    const chunk = bigLayer.files[0]!.chunks[1]!;
    assert.ok(chunk.digest);
    const [raw] = await bigSrc.read([{ offset: chunk.offset, length: chunk.end - chunk.offset }]);
    await bigLayer.decodeChunk(raw!, chunk);
    raw![Math.floor(raw!.length / 2)]! ^= 1;
    await assert.rejects(bigLayer.decodeChunk(raw!, chunk), (e: Error) => {
      return e instanceof FormatError || e instanceof DigestMismatchError;
    });
    await assert.rejects(bigLayer.decodeChunk(raw!.subarray(1), chunk), /compressed bytes/);
  });

  it("layers that are not c/storage zstd:chunked", async () => {
    const estargzZstd = CASES.small!.blobs["estargz-zstd"]!;
    const src = memorySource(readVector("small", "estargz-zstd.blob"));
    await assert.rejects(
      openZstdChunked(src, { annotations: estargzZstd.annotations }),
      UnsupportedError,
    );
    // from the footer alone it looks like Variant A, but the TOC is an eStargz JTOC
    await assert.rejects(openZstdChunked(src), UnsupportedError);
    await assert.rejects(openZstdChunked(memorySource(blob), { annotations: {} }), FallbackError);
  });
});
