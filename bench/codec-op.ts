/**
 * One codec operation in its own process, so that its peak RSS is its own:
 *   node dist/bench/codec-op.js convert zstd:chunked|estargz IN.tar OUT.blob [REPEAT]
 *   node dist/bench/codec-op.js rebuild BLOB ANNOTATIONS.json [REPEAT]
 * Runs the operation REPEAT times (default 1) and prints one JSON line:
 *   { op, seconds (best run), runs (every run), inputBytes, outputBytes, maxRssMiB, digest }.
 * convert also writes OUT.blob.annotations.json; digest is the uncompressed digest (diff_id) that
 * convert reports or that rebuild computed, so the caller can check one against the other.
 */

import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createHasher } from "../src/digest.js";
import { convertLayer, type LayerWriteFormat } from "../src/formats/convert.js";
import { openFileSource } from "../src/formats/file-source.js";
import { openChunkedLayer, rebuildLayerTar } from "../src/formats/open.js";

interface Run {
  seconds: number;
  inputBytes: number;
  outputBytes: number;
  digest: string;
}

async function convert(format: string, input: string, output: string): Promise<Run> {
  const out = createWriteStream(output);
  const t0 = process.hrtime.bigint();
  const result = await convertLayer(
    createReadStream(input, { highWaterMark: 1 << 20 }),
    format as LayerWriteFormat,
    async (b) => {
      if (!out.write(b)) await once(out, "drain");
    },
  );
  out.end();
  await once(out, "finish");
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await writeFile(`${output}.annotations.json`, JSON.stringify(result.annotations));
  return {
    seconds,
    inputBytes: (await stat(input)).size,
    outputBytes: result.blobSize,
    digest: result.diffId,
  };
}

/** Rebuild through the same path as `chunkpull layer rebuild`, hashing instead of writing. */
async function rebuild(blob: string, annotationsFile: string): Promise<Run> {
  const annotations = JSON.parse(await readFile(annotationsFile, "utf8")) as Record<string, string>;
  const src = await openFileSource(blob);
  try {
    const t0 = process.hrtime.bigint();
    const layer = await openChunkedLayer(src, annotations);
    const h = createHasher();
    let n = 0;
    for await (const b of rebuildLayerTar(src, layer)) {
      h.update(b);
      n += b.length;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, inputBytes: src.size, outputBytes: n, digest: h.digest() };
  } finally {
    await src.close();
  }
}

const [op, a, b, c] = process.argv.slice(2);
const repeatArg = op === "convert" ? process.argv[6] : c;
const repeat = Math.max(1, Number(repeatArg ?? 1) || 1);
const runs: Run[] = [];
for (let i = 0; i < repeat; i++) {
  runs.push(op === "convert" ? await convert(a!, b!, c!) : await rebuild(a!, b!));
}
if (new Set(runs.map((r) => r.digest)).size !== 1) throw new Error("runs disagree on the digest");
const best = runs.reduce((x, y) => (y.seconds < x.seconds ? y : x));
const maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(
  `${JSON.stringify({ op, ...best, runs: runs.map((r) => r.seconds), maxRssMiB })}\n`,
);
