import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { createHasher, digestOf } from "../../src/digest.js";
import {
  encodeEstargzFooter,
  encodeLegacyFooter,
  parseEstargzFooter,
} from "../../src/formats/estargz/footer.js";
import { openEstargz } from "../../src/formats/estargz/reader.js";
import { rebuildEstargzTar } from "../../src/formats/estargz/rebuild.js";
import { encodeTocTar } from "../../src/formats/estargz/toc-tar.js";
import { CASES, hasVector, memorySource, vector, vectorFile } from "./helpers.js";
import { header } from "./tar-fixtures.js";

describe("openEstargz on every estargz reference vector", () => {
  for (const name of CASES.filter((c) => hasVector(c, "estargz"))) {
    it(`${name}: TOC verified, chunks verified, rebuild = layer_diff_id`, async () => {
      const { blob, info } = vector(name, "estargz");
      const src = memorySource(blob);
      const layer = await openEstargz(src, { annotations: info.annotations });
      assert.equal(layer.format, "estargz");
      assert.equal(layer.tocVerified, true);
      assert.equal(layer.tocDigest, info.toc_digest);
      assert.equal(digestOf(layer.tocJson), info.toc_digest);
      assert.deepEqual(layer.tocJson, vectorFile(name, "estargz.toc.json"));
      assert.equal(layer.footer.size, 51);
      assert.equal(layer.uncompressedSize, info.layer_uncompressed_size);
      // Footer + TOC arrive in the first (tail) read for these small TOCs.
      assert.equal(src.reads.length, 1);

      const refToc = JSON.parse(vectorFile(name, "estargz.toc.json").toString("utf8"));
      const refRegs = refToc.entries.filter(
        (e: { type: string; size?: number; name: string }) =>
          e.type === "reg" && (e.size ?? 0) > 0 && !e.name.includes("landmark"),
      );
      assert.equal(layer.files.length, refRegs.length);
      for (const file of layer.files) {
        let covered = 0;
        const whole = createHasher();
        for (const chunk of file.chunks) {
          assert.equal(chunk.fileOffset, covered);
          assert.ok(chunk.end > chunk.offset);
          const [bytes] = await src.read([
            { offset: chunk.offset, length: chunk.end - chunk.offset },
          ]);
          const data = await layer.decodeChunk(bytes as Buffer, chunk);
          assert.equal(data.length, chunk.size);
          whole.update(data);
          covered += chunk.size;
        }
        assert.equal(covered, file.size);
        assert.equal(whole.digest(), file.digest, `whole-file digest of ${file.name}`);
      }

      const h = createHasher();
      let total = 0;
      for await (const piece of rebuildEstargzTar(src, layer)) {
        h.update(piece);
        total += piece.length;
      }
      assert.equal(h.digest(), info.layer_diff_id);
      assert.equal(total, info.layer_uncompressed_size);
    });
  }

  it("bigfile: files are chunked at 4 MiB with chunk entries", async () => {
    const { blob, info } = vector("bigfile", "estargz");
    const layer = await openEstargz(memorySource(blob), { annotations: info.annotations });
    const big = layer.files.find((f) => f.size > 8 << 20);
    assert.ok(big);
    assert.equal(big.chunks.length, Math.ceil(big.size / (4 << 20)));
    assert.ok(big.chunks.every((c, i) => c.fileOffset === i * (4 << 20)));
  });

  it("without annotations the TOC is read but reported unverified", async () => {
    const { blob, info } = vector("small", "estargz");
    const layer = await openEstargz(memorySource(blob));
    assert.equal(layer.tocVerified, false);
    assert.equal(layer.tocDigest, info.toc_digest);
    await assert.rejects(openEstargz(memorySource(blob), { requireTocDigest: true }), {
      name: "FormatError",
    });
  });

  it("a tiny tail read fetches the TOC with a second range", async () => {
    const { blob, info } = vector("rootfs", "estargz");
    const src = memorySource(blob);
    const layer = await openEstargz(src, { annotations: info.annotations, tailReadSize: 51 });
    assert.equal(src.reads.length, 2);
    assert.equal(src.reads[1]?.offset, layer.dataEnd);
  });
});

describe("openEstargz: layouts the reference vectors do not cover", () => {
  it("reads a blob with the legacy 47-byte CRFS footer", async () => {
    const { blob, info } = vector("small", "estargz");
    const tocOffset = parseEstargzFooter(blob).tocOffset;
    const legacy = Buffer.concat([
      blob.subarray(0, blob.length - 51),
      encodeLegacyFooter(tocOffset),
    ]);
    const layer = await openEstargz(memorySource(legacy), { annotations: info.annotations });
    assert.equal(layer.footer.kind, "legacy");
    assert.equal(layer.footer.size, 47);
    assert.equal(layer.files.length, vectorLayerFiles("small"));
  });

  it("innerOffset: two files in one member share an offset", async () => {
    const a = Buffer.from("first file");
    const b = Buffer.from("second, longer file");
    const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);
    const member = gzipSync(
      Buffer.concat([
        header("a", a.length),
        a,
        pad(a.length),
        header("b", b.length),
        b,
        pad(b.length),
      ]),
    );
    const entry = (name: string, data: Buffer, innerOffset: number) => ({
      name,
      type: "reg",
      size: data.length,
      offset: 0,
      innerOffset,
      digest: digestOf(data),
      chunkDigest: digestOf(data),
    });
    const json = Buffer.from(
      JSON.stringify({ version: 1, entries: [entry("a", a, 512), entry("b", b, 1536)] }),
    );
    const blob = Buffer.concat([
      member,
      gzipSync(encodeTocTar(json)),
      encodeEstargzFooter(member.length),
    ]);
    const src = memorySource(blob);
    const layer = await openEstargz(src, {
      annotations: { "containerd.io/snapshot/stargz/toc.digest": digestOf(json) },
    });
    assert.deepEqual(
      layer.files.map((f) => f.chunks.map((c) => [c.offset, c.end, c.innerOffset])),
      [[[0, member.length, 512]], [[0, member.length, 1536]]],
    );
    const decoded = await Promise.all(
      layer.files.map((f) =>
        layer.decodeChunk(blob.subarray(0, member.length), f.chunks[0] as never),
      ),
    );
    assert.deepEqual(decoded, [a, b]);
  });
});

function vectorLayerFiles(name: string): number {
  const toc = JSON.parse(vectorFile(name, "estargz.toc.json").toString("utf8"));
  return toc.entries.filter(
    (e: { type: string; size?: number; name: string }) =>
      e.type === "reg" && (e.size ?? 0) > 0 && !e.name.endsWith("landmark"),
  ).length;
}
