/** `chunkpull layer inspect BLOB`: what a chunked layer blob holds, read from its TOC and footer. */
import { openFileSource } from "../formats/file-source.js";
import { describeLayer, openChunkedLayer, readTailDetection } from "../formats/open.js";
import { parse, readAnnotationsFile, str } from "./args.js";
import { formatBytes } from "./render.js";

export async function layerInspect(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { annotations: { type: "string" }, json: { type: "boolean" }, strict: { type: "boolean" } },
    ["BLOB"],
  );
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
