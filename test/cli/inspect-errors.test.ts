/**
 * `chunkpull layer inspect --json` fields, the detection rule as the CLI applies it, usage errors
 * (exit 2) and damaged blobs (exit 1), run as the built CLI.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, open, readFile, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import {
  annotationsFile,
  assertBuilt,
  CASES,
  makeTempDir,
  referenceToc,
  runCli,
  tocChunkCount,
  vector,
} from "./helpers.js";

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
before(async () => {
  assertBuilt();
  tmp = await makeTempDir("errors");
});
after(() => tmp.cleanup());

const SMALL = vector("small", "zstdchunked-v2.blob");
const SMALL_ANN = annotationsFile("small", "zstdchunked-v2");

/** Copies a blob into the temp dir and overwrites `bytes` at `offset`. */
async function damagedCopy(src: string, name: string, offset: number, bytes: Buffer) {
  const path = tmp.path(name);
  await copyFile(src, path);
  const fh = await open(path, "r+");
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
  return path;
}

describe("layer inspect --json fields", { concurrency: true }, () => {
  for (const name of ["small", "zeros", "bigfile"]) {
    const b = CASES[name]!.blobs["zstdchunked-v2"]!;
    const toc = referenceToc(name, "zstdchunked-v2");
    const payload = toc.entries
      .filter((e) => e.type === "reg")
      .reduce((n, e) => n + (e.size ?? 0), 0);
    const zeros = toc.entries.filter((e) => e.chunkType === "zeros").length;

    it(`${name}: zstdchunked-v2 with annotations`, async () => {
      const r = await runCli([
        "layer",
        "inspect",
        vector(name, b.file),
        "--annotations",
        annotationsFile(name, "zstdchunked-v2"),
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout);
      assert.equal(info.format, "zstd:chunked");
      assert.equal(info.footerVariant, "C");
      assert.equal(info.footerSize, 64);
      assert.equal(info.tocSource, "annotations");
      assert.equal(info.tocDigest, b.toc_digest);
      assert.equal(info.tocEntries, toc.entries.length);
      assert.equal(info.chunks, tocChunkCount(toc));
      assert.equal(info.zeroChunks, zeros);
      assert.equal(info.payloadBytes, payload);
      assert.equal(info.blobSize, b.blob_size);
      assert.equal(info.hasTarSplit, true);
      assert.match(info.tarSplit, /authenticated by the TOC/);
    });
  }

  it("legacy151 with annotations: tar-split authenticated by the tarsplit-checksum annotation", async () => {
    const r = await runCli([
      "layer",
      "inspect",
      vector("small", "zstdchunked-v2-legacy151.blob"),
      "--annotations",
      annotationsFile("small", "zstdchunked-v2-legacy151"),
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.tocDigest, CASES.small!.blobs["zstdchunked-v2-legacy151"]!.toc_digest);
    assert.equal(info.hasTarSplit, true);
    assert.match(info.tarSplit, /tarsplit-checksum/);
  });
});

describe("layer inspect: the detection rule", { concurrency: true }, () => {
  it("both TOC keys: the zstd:chunked key is taken; --strict refuses", async () => {
    const ann = JSON.parse(await readFile(SMALL_ANN, "utf8"));
    // An eStargz key that matches nothing: if it were taken, opening would fail.
    ann["containerd.io/snapshot/stargz/toc.digest"] = `sha256:${"ab".repeat(32)}`;
    const both = tmp.path("both.annotations.json");
    await writeFile(both, JSON.stringify(ann));
    const [lenient, strict] = await Promise.all([
      runCli(["layer", "inspect", SMALL, "--annotations", both, "--json"]),
      runCli(["layer", "inspect", SMALL, "--annotations", both, "--strict"]),
    ]);
    assert.equal(lenient.code, 0, lenient.stderr);
    const info = JSON.parse(lenient.stdout);
    assert.equal(info.format, "zstd:chunked");
    assert.equal(info.tocDigest, CASES.small!.blobs["zstdchunked-v2"]!.toc_digest);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /both zstd:chunked and eStargz TOC/);
  });

  it("a plain tar is not a chunked layer", async () => {
    const r = await runCli(["layer", "inspect", vector("small", "input.tar")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a chunked layer/);
  });
});

describe("usage errors exit 2 with a message", { concurrency: true }, () => {
  const out = () => tmp.path(`usage-${Math.random().toString(36).slice(2)}.out`);
  const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
    ["rebuild without -o", async () => ["layer", "rebuild", SMALL], /-o OUT\.tar is required/],
    [
      "convert without -o",
      async () => ["layer", "convert", vector("small", "input.tar")],
      /-o OUT\.blob is required/,
    ],
    [
      "convert to an unknown format",
      async () => [
        "layer",
        "convert",
        vector("small", "input.tar"),
        "--format",
        "gzip",
        "-o",
        out(),
      ],
      /--format must be one of zstd:chunked, estargz/,
    ],
    [
      "convert with a non-integer --level",
      async () => ["layer", "convert", vector("small", "input.tar"), "--level", "x", "-o", out()],
      /--level for zstd:chunked must be an integer from 1 to 22/,
    ],
    [
      "convert to estargz with a gzip level out of range",
      async () => [
        "layer",
        "convert",
        vector("small", "input.tar"),
        "--format",
        "estargz",
        "--level",
        "12",
        "-o",
        out(),
      ],
      /--level for estargz must be an integer from 0 to 9/,
    ],
    [
      "a malformed --diff-id",
      async () => ["layer", "rebuild", SMALL, "-o", out(), "--diff-id", "sha256:abc"],
      /--diff-id: sha256 digest must have 64 hex digits/,
    ],
    [
      "a --diff-id without algorithm",
      async () => ["layer", "rebuild", SMALL, "-o", out(), "--diff-id", "e3b0c442"],
      /--diff-id: invalid digest/,
    ],
    [
      "an unreadable annotations file",
      async () => ["layer", "inspect", SMALL, "--annotations", tmp.path("missing.json")],
      /--annotations .*missing\.json: ENOENT/,
    ],
    [
      "an annotations file that is not a flat object",
      async () => {
        const path = tmp.path("array.json");
        await writeFile(path, "[1, 2]");
        return ["layer", "inspect", SMALL, "--annotations", path];
      },
      /expected a flat JSON object/,
    ],
    [
      "an annotations file that is not JSON",
      async () => {
        const path = tmp.path("garbage.json");
        await writeFile(path, "{not json");
        return ["layer", "rebuild", SMALL, "--annotations", path, "-o", out()];
      },
      /--annotations .*garbage\.json: /,
    ],
    [
      "an unknown option",
      async () => ["layer", "inspect", SMALL, "--bogus"],
      /^chunkpull layer inspect: unknown option --bogus \[EUSAGE\]; hint: see 'chunkpull layer inspect --help'\n$/,
    ],
    ["a missing BLOB", async () => ["layer", "inspect"], /missing BLOB \[EUSAGE\]/],
    ["an unknown command", async () => ["layer", "frobnicate"], /unknown "frobnicate" subcommand/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await runCli(await args());
      assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }
});

describe("damaged blobs exit 1 with a clear error", { concurrency: true }, () => {
  it("truncated zstd:chunked blob, with annotations", async () => {
    const size = CASES.small!.blobs["zstdchunked-v2"]!.blob_size;
    const path = tmp.path("truncated.blob");
    await writeFile(path, (await readFile(SMALL)).subarray(0, size - 100));
    const o = tmp.path("truncated.tar");
    const [insp, rb, noAnn] = await Promise.all([
      runCli(["layer", "inspect", path, "--annotations", SMALL_ANN]),
      runCli(["layer", "rebuild", path, "--annotations", SMALL_ANN, "-o", o]),
      runCli(["layer", "inspect", path]),
    ]);
    assert.equal(insp.code, 1);
    assert.match(insp.stderr, /tar-split position \[\d+, \d+\) is outside the blob/);
    assert.equal(rb.code, 1);
    assert.match(rb.stderr, /outside the blob/);
    assert.equal(existsSync(o), false);
    // Without annotations the footer is gone with the tail.
    assert.equal(noAnn.code, 1);
    assert.match(noAnn.stderr, /not a chunked layer/);
  });

  it("a corrupted zstd:chunked chunk byte names the chunk", async () => {
    const toc = referenceToc("bigfile", "zstdchunked-v2");
    const second = toc.entries.filter((e) => e.type === "chunk")[0]!;
    const third = toc.entries.filter((e) => e.type === "chunk")[1]!;
    const at = Math.floor((second.offset! + third.offset!) / 2);
    const path = await damagedCopy(
      vector("bigfile", "zstdchunked-v2.blob"),
      "corrupt-chunk.blob",
      at,
      Buffer.from([0, 0, 0]),
    );
    const o = tmp.path("corrupt-chunk.tar");
    const r = await runCli([
      "layer",
      "rebuild",
      path,
      "--annotations",
      annotationsFile("bigfile", "zstdchunked-v2"),
      "-o",
      o,
    ]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`chunk [${second.offset}, ${third.offset})`), r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(existsSync(o), false);
    assert.equal(existsSync(`${o}.partial`), false);
  });

  it("a corrupted zstd:chunked TOC byte fails the TOC digest", async () => {
    const [offset] = CASES.small!.blobs["zstdchunked-v2"]!.annotations[
      "io.github.containers.zstd-chunked.manifest-position"
    ]!.split(":").map(Number) as [number];
    const path = await damagedCopy(SMALL, "corrupt-toc.blob", offset + 20, Buffer.from([0x55]));
    const r = await runCli(["layer", "inspect", path, "--annotations", SMALL_ANN]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /digest mismatch for zstd:chunked TOC/);
  });

  it("a corrupted eStargz member fails the rebuild", async () => {
    const toc = referenceToc("bigfile", "estargz");
    const big = toc.entries.filter((e) => e.type === "reg" && (e.size ?? 0) > 1 << 20)[0]!;
    const path = await damagedCopy(
      vector("bigfile", "estargz.blob"),
      "corrupt-member.blob",
      big.offset! + 4096,
      Buffer.from([0, 0, 0]),
    );
    const o = tmp.path("corrupt-member.tar");
    const r = await runCli([
      "layer",
      "rebuild",
      path,
      "--annotations",
      annotationsFile("bigfile", "estargz"),
      "-o",
      o,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not inflate|chunk|digest mismatch/);
    assert.equal(existsSync(o), false);
  });
});
