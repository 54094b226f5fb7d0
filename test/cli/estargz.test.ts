/**
 * `chunkpull layer inspect|rebuild` on the eStargz (gzip) and stargz-snapshotter zstd-flavour
 * reference vectors, run as the built CLI. Expected values come from INDEX.json, the reference
 * TOCs, or are extracted from the blob here with the zstd library directly.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { decompress } from "@mongodb-js/zstd";
import {
  annotationsFile,
  assertBuilt,
  CASES,
  casesWith,
  makeTempDir,
  referenceToc,
  runCli,
  sha256File,
  vector,
} from "./helpers.js";

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
before(async () => {
  assertBuilt();
  tmp = await makeTempDir("estargz");
});
after(() => tmp.cleanup());

describe("layer inspect/rebuild: estargz vectors", { concurrency: true }, () => {
  for (const name of casesWith("estargz")) {
    const b = CASES[name]!.blobs["estargz"]!;
    const blob = vector(name, b.file);
    const toc = referenceToc(name, "estargz");

    it(`${name}: inspect --json with annotations: format, 51-byte footer, verified TOC`, async () => {
      const r = await runCli([
        "layer",
        "inspect",
        blob,
        "--annotations",
        annotationsFile(name, "estargz"),
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout);
      assert.equal(info.format, "estargz");
      assert.equal(info.footerSize, 51);
      assert.equal(info.tocSource, "annotations");
      assert.equal(info.tocDigest, b.toc_digest);
      assert.equal(info.tocEntries, toc.entries.length);
      assert.equal(info.hasTarSplit, false);
      assert.equal(info.blobSize, b.blob_size);
      assert.equal(
        info.uncompressedSize,
        Number(b.annotations["io.containers.estargz.uncompressed-size"]),
      );
    });

    it(`${name}: rebuild gives its layer_diff_id`, async () => {
      const out = tmp.path(`${name}.estargz.tar`);
      const r = await runCli([
        "layer",
        "rebuild",
        blob,
        "--annotations",
        annotationsFile(name, "estargz"),
        "-o",
        out,
        "--diff-id",
        b.layer_diff_id,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), b.layer_diff_id);
      assert.equal(await sha256File(out), b.layer_diff_id);
    });
  }
});

/**
 * The estargz-zstd TOC, extracted independently: the legacy manifest-position annotation
 * (offset:length:uncompressed:type) locates a zstd frame holding the eStargz TOC JSON.
 */
async function extractZstdFlavourToc(name: string): Promise<{ json: Buffer; entries: number }> {
  const b = CASES[name]!.blobs["estargz-zstd"]!;
  const position = b.annotations["io.containers.zstd-chunked.manifest-position"]!;
  const [offset, length] = position.split(":").map(Number) as [number, number];
  const blob = readFileSync(vector(name, b.file));
  const json = await decompress(blob.subarray(offset, offset + length));
  return { json, entries: (JSON.parse(json.toString("utf8")).entries ?? []).length };
}

describe("layer inspect: estargz-zstd vectors", { concurrency: true }, () => {
  for (const name of casesWith("estargz-zstd")) {
    const b = CASES[name]!.blobs["estargz-zstd"]!;
    const blob = vector(name, b.file);

    for (const withAnnotations of [true, false]) {
      const how = withAnnotations ? "with annotations" : "from the footer alone";
      it(`${name}: detected as estargz-zstd ${how}, TOC read`, async () => {
        const expected = await extractZstdFlavourToc(name);
        // The extraction is right: the TOC digest annotation covers these very bytes.
        assert.equal(
          `sha256:${createHash("sha256").update(expected.json).digest("hex")}`,
          b.toc_digest,
        );
        const args = ["layer", "inspect", blob, "--json"];
        if (withAnnotations) args.push("--annotations", annotationsFile(name, "estargz-zstd"));
        const r = await runCli(args);
        assert.equal(r.code, 0, r.stderr);
        const info = JSON.parse(r.stdout);
        assert.equal(info.format, "estargz-zstd");
        assert.equal(info.footerSize, 40);
        assert.equal(info.tocSource, withAnnotations ? "annotations" : "footer");
        assert.equal(info.tocDigest, b.toc_digest);
        assert.equal(info.tocEntries, expected.entries);
        assert.equal(info.hasTarSplit, false);
      });
    }
  }
});
