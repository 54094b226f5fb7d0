/** `chunkpull layer convert IN.tar --format zstd:chunked|estargz -o OUT.blob`: writes a chunked layer. */

import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { UsageError } from "../errors.js";
import { convertLayer, LAYER_WRITE_FORMATS, type LayerWriteFormat } from "../formats/convert.js";
import { str } from "./args.js";
import { discardPartial } from "./partial-file.js";
import type { CommandSpec, Invocation } from "./spec.js";

export const layerConvertSpec: CommandSpec = {
  name: "layer convert",
  summary: "write a tar as a zstd:chunked or eStargz layer blob",
  positionals: [{ name: "IN.tar", description: "an uncompressed layer tar" }],
  options: [
    {
      name: "format",
      type: "string",
      value: "FORMAT",
      description: `${LAYER_WRITE_FORMATS.join(" or ")}`,
      default: "zstd:chunked",
    },
    {
      name: "output",
      short: "o",
      type: "string",
      value: "OUT.blob",
      description: "where to write the blob (required)",
    },
    {
      name: "annotations-out",
      type: "string",
      value: "FILE",
      description: "write the descriptor annotations (TOC digest...) as JSON here",
    },
    {
      name: "level",
      type: "string",
      value: "N",
      description: "compression level: zstd 1-22, gzip 0-9",
      default: "zstd 3, gzip 6",
    },
  ],
  description: "Prints the blob digest and the uncompressed digest (the diff_id).",
  examples: [
    "chunkpull layer convert layer.tar --format estargz -o layer.blob --annotations-out a.json",
  ],
  run: layerConvert,
};

async function layerConvert({ values, positionals }: Invocation): Promise<number> {
  const format = str(values, "format") ?? "zstd:chunked";
  if (!LAYER_WRITE_FORMATS.includes(format as LayerWriteFormat)) {
    throw new UsageError(`--format must be one of ${LAYER_WRITE_FORMATS.join(", ")}`);
  }
  const output = str(values, "output");
  if (!output) throw new UsageError("-o OUT.blob is required");
  const level = parseLevel(str(values, "level"), format as LayerWriteFormat);
  const partial = `${output}.partial`;
  const out = createWriteStream(partial);
  try {
    const result = await convertLayer(
      createReadStream(positionals[0]!, { highWaterMark: 1 << 20 }),
      format as LayerWriteFormat,
      async (b) => {
        if (!out.write(b)) await once(out, "drain");
      },
      { level },
    );
    out.end();
    await once(out, "finish");
    await rename(partial, output);
    const annotationsOut = str(values, "annotations-out");
    if (annotationsOut)
      await writeFile(annotationsOut, `${JSON.stringify(result.annotations, null, 2)}\n`);
    process.stdout.write(
      `blob digest:         ${result.blobDigest}\nuncompressed digest: ${result.diffId}\n`,
    );
    return 0;
  } catch (err) {
    await discardPartial(out, partial);
    throw err;
  }
}

/** Levels each compressor accepts: zstd 1-22, gzip (zlib) 0-9. */
const LEVEL_RANGE: Record<LayerWriteFormat, [number, number]> = {
  "zstd:chunked": [1, 22],
  estargz: [0, 9],
};

function parseLevel(text: string | undefined, format: LayerWriteFormat): number | undefined {
  if (text === undefined) return undefined;
  const level = Number(text);
  const [min, max] = LEVEL_RANGE[format];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new UsageError(`--level for ${format} must be an integer from ${min} to ${max}`);
  }
  return level;
}
