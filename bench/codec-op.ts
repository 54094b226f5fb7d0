/**
 * One codec operation in its own process, so that its peak RSS is its own:
 *   node dist/bench/codec-op.js convert zstd:chunked|estargz IN.tar OUT.blob
 *   node dist/bench/codec-op.js rebuild BLOB ANNOTATIONS.json
 * Prints one JSON line: { op, seconds, inputBytes, outputBytes, maxRssMiB, digest }.
 */

import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { createHasher } from "../src/digest.js";
import { convertLayer, type LayerWriteFormat } from "../src/formats/convert.js";
import { openFileSource } from "../src/formats/file-source.js";
import { openChunkedLayer, rebuildLayerTar } from "../src/formats/open.js";

async function convert(format: string, input: string, output: string) {
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

async function rebuild(blob: string, annotationsFile: string) {
  const annotations = JSON.parse(await readFile(annotationsFile, "utf8")) as Record<string, string>;
  const src = await openFileSource(blob);
  const t0 = process.hrtime.bigint();
  const layer = await openChunkedLayer(src, annotations);
  const h = createHasher();
  let n = 0;
  for await (const b of rebuildLayerTar(src, layer)) {
    h.update(b);
    n += b.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await src.close();
  return { seconds, inputBytes: src.size, outputBytes: n, digest: h.digest() };
}

const [op, a, b, c] = process.argv.slice(2);
const result = op === "convert" ? await convert(a!, b!, c!) : await rebuild(a!, b!);
const maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(`${JSON.stringify({ op, ...result, maxRssMiB })}\n`);
