/**
 * `chunkpull layer rebuild|inspect` on the zstd:chunked reference vectors, run as the built CLI:
 * current (v2), c/storage v1.51 (legacy tar-split checksum) and 1.43 (v1, no tar-split: rebuilt
 * from the frames between the files, as a pull does) blobs.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import {
  annotationsFile,
  assertBuilt,
  CASES,
  casesWith,
  makeTempDir,
  referenceToc,
  runCli,
  sha256File,
  tocChunkCount,
  vector,
} from "./helpers.js";

const SHA256_LINE = /^sha256:[0-9a-f]{64}\n$/;

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
before(async () => {
  assertBuilt();
  tmp = await makeTempDir("zc");
});
after(() => tmp.cleanup());

/** A valid digest that is not `d`: same length, last hex digit changed. */
function otherDigest(d: string): string {
  return d.slice(0, -1) + (d.endsWith("0") ? "1" : "0");
}

describe("layer rebuild: zstdchunked-v2 vectors", { concurrency: true }, () => {
  for (const name of casesWith("zstdchunked-v2")) {
    const c = CASES[name]!;
    const blob = vector(name, "zstdchunked-v2.blob");

    it(`${name}: with --annotations rebuilds input.tar (${c.input_diff_id.slice(7, 19)})`, async () => {
      const out = tmp.path(`${name}.v2.ann.tar`);
      const r = await runCli([
        "layer",
        "rebuild",
        blob,
        "--annotations",
        annotationsFile(name, "zstdchunked-v2"),
        "-o",
        out,
        "--diff-id",
        c.input_diff_id,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, SHA256_LINE);
      assert.equal(r.stdout.trim(), c.input_diff_id);
      assert.equal(await sha256File(out), c.input_diff_id);
      assert.match(r.stderr, /diff_id verified/);
    });

    it(`${name}: from the footer alone rebuilds input.tar`, async () => {
      const out = tmp.path(`${name}.v2.footer.tar`);
      const r = await runCli(["layer", "rebuild", blob, "-o", out, "--diff-id", c.input_diff_id]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), c.input_diff_id);
      assert.equal(await sha256File(out), c.input_diff_id);
    });

    it(`${name}: a wrong --diff-id fails and leaves no output file`, async () => {
      const out = tmp.path(`${name}.v2.wrong.tar`);
      const wrong = otherDigest(c.input_diff_id);
      const r = await runCli([
        "layer",
        "rebuild",
        blob,
        "--annotations",
        annotationsFile(name, "zstdchunked-v2"),
        "-o",
        out,
        "--diff-id",
        wrong,
      ]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /digest mismatch/);
      assert.ok(r.stderr.includes(wrong), "names the expected digest");
      assert.ok(r.stderr.includes(c.input_diff_id), "names the actual digest");
      assert.equal(existsSync(out), false, "no OUT file");
      assert.equal(existsSync(`${out}.partial`), false, "no partial file");
    });
  }
});

describe("layer rebuild: zstdchunked-v2-legacy151 vectors", { concurrency: true }, () => {
  for (const name of casesWith("zstdchunked-v2-legacy151")) {
    const b = CASES[name]!.blobs["zstdchunked-v2-legacy151"]!;
    it(`${name}: rebuilds to its layer_diff_id`, async () => {
      const out = tmp.path(`${name}.legacy151.tar`);
      const r = await runCli([
        "layer",
        "rebuild",
        vector(name, b.file),
        "--annotations",
        annotationsFile(name, "zstdchunked-v2-legacy151"),
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

describe("layer inspect/rebuild: zstdchunked-v1 vectors", { concurrency: true }, () => {
  for (const name of casesWith("zstdchunked-v1")) {
    const b = CASES[name]!.blobs["zstdchunked-v1"]!;
    const blob = vector(name, b.file);
    const toc = referenceToc(name, "zstdchunked-v1");

    it(`${name}: inspect (text, annotations) names format, footer A, TOC, chunks, no tar-split`, async () => {
      const r = await runCli([
        "layer",
        "inspect",
        blob,
        "--annotations",
        annotationsFile(name, "zstdchunked-v1"),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^format: +zstd:chunked \(footer variant A\)$/m);
      assert.ok(r.stdout.includes(`${b.toc_digest} (from annotations)`), r.stdout);
      assert.match(r.stdout, new RegExp(`^toc: +${toc.entries.length} entries,`, "m"));
      assert.match(r.stdout, new RegExp(` ${tocChunkCount(toc)} chunks `));
      assert.match(r.stdout, /^tar-split: +absent$/m);
    });

    it(`${name}: inspect --json from the footer`, async () => {
      const r = await runCli(["layer", "inspect", blob, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout);
      assert.equal(info.format, "zstd:chunked");
      assert.equal(info.footerVariant, "A");
      assert.equal(info.footerSize, 40);
      assert.equal(info.tocSource, "footer");
      assert.equal(info.tocEntries, toc.entries.length);
      assert.equal(info.chunks, tocChunkCount(toc));
      assert.equal(info.hasTarSplit, false);
      assert.equal(info.tarSplit, "absent");
      assert.equal(info.blobSize, b.blob_size);
    });

    it(`${name}: rebuild takes the tar's headers from the frames (no tar-split)`, async () => {
      const out = tmp.path(`${name}.v1.tar`);
      const r = await runCli([
        "layer",
        "rebuild",
        blob,
        "--annotations",
        annotationsFile(name, "zstdchunked-v1"),
        "-o",
        out,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, SHA256_LINE);
      // c/storage 1.43 dropped the tar's trailing zero padding when it wrote these blobs: the
      // rebuilt tar is input.tar up to that padding, byte for byte.
      const rebuilt = await readFile(out);
      const input = await readFile(vector(name, "input.tar"));
      assert.ok(rebuilt.length <= input.length);
      assert.ok(input.subarray(0, rebuilt.length).equals(rebuilt), "a prefix of input.tar");
      assert.ok(
        input.subarray(rebuilt.length).every((b) => b === 0),
        "only padding left out",
      );
      assert.equal(existsSync(`${out}.partial`), false);
    });
  }
});
