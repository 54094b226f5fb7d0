/**
 * `chunkpull layer convert` on every case's input.tar, run as the built CLI, checked with tools
 * that are not ours: the zstd CLI must decompress the zstd:chunked blob to input.tar byte for
 * byte, and our own rebuild (from ranges, through the annotations written by convert) must give
 * the digests convert printed. TOC/tar-split content is checked in test/zstdchunked/.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import {
  assertBuilt,
  CASES,
  casesWith,
  haveZstdCli,
  makeTempDir,
  runCli,
  sha256File,
  vector,
  zstdDecompressDigest,
} from "./helpers.js";

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let zstdCli = false;
before(async () => {
  assertBuilt();
  tmp = await makeTempDir("convert");
  zstdCli = await haveZstdCli();
});
after(() => tmp.cleanup());

/** Parses convert's two output lines. */
function parseConvertOutput(stdout: string): { blobDigest: string; diffId: string } {
  const blob = /^blob digest: +(sha256:[0-9a-f]{64})$/m.exec(stdout);
  const diff = /^uncompressed digest: +(sha256:[0-9a-f]{64})$/m.exec(stdout);
  assert.ok(blob && diff, `unexpected convert output: ${stdout}`);
  return { blobDigest: blob[1]!, diffId: diff[1]! };
}

describe("layer convert: every case", { concurrency: true }, () => {
  for (const name of casesWith("zstdchunked-v2")) {
    const c = CASES[name]!;
    const input = vector(name, "input.tar");

    it(`${name}: zstd:chunked blob decompresses to input.tar and rebuilds to its digest`, async (t) => {
      const blob = tmp.path(`${name}.zc.blob`);
      const annotations = tmp.path(`${name}.zc.annotations.json`);
      const conv = await runCli([
        "layer",
        "convert",
        input,
        "--format",
        "zstd:chunked",
        "-o",
        blob,
        "--annotations-out",
        annotations,
      ]);
      assert.equal(conv.code, 0, conv.stderr);
      const printed = parseConvertOutput(conv.stdout);
      assert.equal(printed.blobDigest, await sha256File(blob));
      assert.equal(printed.diffId, c.input_diff_id);
      const ann = JSON.parse(await readFile(annotations, "utf8"));
      assert.match(
        ann["io.github.containers.zstd-chunked.manifest-checksum"],
        /^sha256:[0-9a-f]{64}$/,
      );

      const rebuilt = tmp.path(`${name}.zc.tar`);
      const [unzstd, rb] = await Promise.all([
        zstdCli ? zstdDecompressDigest(blob) : undefined,
        runCli(["layer", "rebuild", blob, "--annotations", annotations, "-o", rebuilt]),
      ]);
      if (unzstd) {
        assert.equal(unzstd.size, c.input_size, "zstd -d output size");
        assert.equal(unzstd.digest, c.input_diff_id, "zstd -d output = input.tar");
      } else {
        t.diagnostic("zstd CLI not installed: skipped the zstd -d check");
      }
      assert.equal(rb.code, 0, rb.stderr);
      assert.equal(rb.stdout.trim(), c.input_diff_id);
      assert.equal(await sha256File(rebuilt), c.input_diff_id);
    });

    it(`${name}: estargz blob rebuilds to the digest convert printed`, async () => {
      const blob = tmp.path(`${name}.esgz.blob`);
      const annotations = tmp.path(`${name}.esgz.annotations.json`);
      const conv = await runCli([
        "layer",
        "convert",
        input,
        "--format",
        "estargz",
        "-o",
        blob,
        "--annotations-out",
        annotations,
      ]);
      assert.equal(conv.code, 0, conv.stderr);
      const printed = parseConvertOutput(conv.stdout);
      assert.equal(printed.blobDigest, await sha256File(blob));
      const ann = JSON.parse(await readFile(annotations, "utf8"));
      assert.match(ann["containerd.io/snapshot/stargz/toc.digest"], /^sha256:[0-9a-f]{64}$/);

      const rebuilt = tmp.path(`${name}.esgz.tar`);
      const rb = await runCli([
        "layer",
        "rebuild",
        blob,
        "--annotations",
        annotations,
        "-o",
        rebuilt,
        "--diff-id",
        printed.diffId,
      ]);
      assert.equal(rb.code, 0, rb.stderr);
      assert.equal(rb.stdout.trim(), printed.diffId);
      assert.equal(await sha256File(rebuilt), printed.diffId);
    });
  }
});
