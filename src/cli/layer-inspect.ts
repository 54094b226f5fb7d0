/** `chunkpull layer inspect BLOB`: what a chunked layer blob holds, read from its TOC and footer. */
import { openFileSource } from "../formats/file-source.js";
import { describeLayer, openChunkedLayer, readTailDetection } from "../formats/open.js";
import { readAnnotationsFile, str } from "./args.js";
import { formatBytes } from "./render.js";
import { type CommandSpec, type Invocation, JSON_OPTION, type OptionSpec } from "./spec.js";

export const ANNOTATIONS_OPTION: OptionSpec = {
  name: "annotations",
  type: "string",
  value: "FILE",
  description:
    "the layer descriptor's annotations as a flat JSON object; authenticates the TOC (without it the footer locates an unauthenticated TOC)",
};

export const STRICT_OPTION: OptionSpec = {
  name: "strict",
  type: "boolean",
  description:
    "reject layers annotated as both zstd:chunked and eStargz (as c/storage >= 1.53 does)",
};

export const layerInspectSpec: CommandSpec = {
  name: "layer inspect",
  summary: "describe a chunked layer blob from its TOC and footer",
  positionals: [{ name: "BLOB", description: "a zstd:chunked or eStargz layer blob file" }],
  options: [ANNOTATIONS_OPTION, JSON_OPTION, STRICT_OPTION],
  description:
    "Reads only the blob's tail, TOC and tar-split (never the file contents) and verifies what it reads: format and footer, TOC digest and what authenticates it, entries, files, chunks, payload, tar-split.",
  examples: [
    "chunkpull layer inspect layer.blob --annotations layer.annotations.json",
    "chunkpull layer inspect layer.blob --json",
  ],
  run: layerInspect,
};

async function layerInspect({ values, positionals }: Invocation): Promise<number> {
  const annotationsPath = str(values, "annotations");
  const annotations = annotationsPath ? await readAnnotationsFile(annotationsPath) : undefined;
  const src = await openFileSource(positionals[0]!);
  try {
    const layer = await openChunkedLayer(src, annotations, { strict: values.strict === true });
    const info = describeLayer(layer, src.size, await readTailDetection(src));
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      return 0;
    }
    const out = [
      `format:          ${info.format}${info.footer ? ` (footer ${info.footer})` : ""}`,
      `toc digest:      ${info.tocDigest}${info.tocSource === "annotations" ? " (from annotations)" : " (from footer: not authenticated)"}`,
      `blob size:       ${formatBytes(info.blobSize)}`,
      `toc:             ${info.tocEntries} entries, ${info.files} regular files with payload, ${info.chunks} chunks (${info.zeroChunks} zeros)`,
      `payload:         ${formatBytes(info.payloadBytes)} uncompressed`,
      `tar-split:       ${info.tarSplit}`,
    ];
    if (info.uncompressedSize !== undefined)
      out.push(`uncompressed:    ${formatBytes(info.uncompressedSize)}`);
    process.stdout.write(`${out.join("\n")}\n`);
    return 0;
  } finally {
    await src.close();
  }
}
