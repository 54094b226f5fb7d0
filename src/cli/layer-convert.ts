/** `chunkpull layer convert IN.tar --format zstd:chunked|estargz -o OUT.blob`: writes a chunked layer. */

import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { UsageError } from "../errors.js";
import { convertLayer, LAYER_WRITE_FORMATS, type LayerWriteFormat } from "../formats/convert.js";
import { parse, str } from "./args.js";

export async function layerConvert(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      format: { type: "string" },
      output: { type: "string", short: "o" },
      "annotations-out": { type: "string" },
      level: { type: "string" },
    },
    ["IN.tar"],
  );
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
    out.destroy();
    await rm(partial, { force: true });
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
