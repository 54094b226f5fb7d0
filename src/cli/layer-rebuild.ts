/**
 * `chunkpull layer rebuild BLOB -o OUT.tar`: rebuilds the layer tar from the TOC, the tar-split
 * and the chunks (read as ranges, never by decompressing the whole blob), hashing on the fly.
 */

import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { rename } from "node:fs/promises";
import { type Digest, parseDigest } from "../digest.js";
import { DigestMismatchError, UsageError } from "../errors.js";
import { openFileSource } from "../formats/file-source.js";
import { openChunkedLayer, rebuildLayerTar } from "../formats/open.js";
import { strategyFor } from "../formats/rebuild.js";
import { PaddedTarHash } from "../formats/tar/padding.js";
import { readAnnotationsFile, str } from "./args.js";
import { ANNOTATIONS_OPTION, STRICT_OPTION } from "./layer-inspect.js";
import { discardPartial } from "./partial-file.js";
import type { CommandSpec, Invocation } from "./spec.js";

export const layerRebuildSpec: CommandSpec = {
  name: "layer rebuild",
  summary: "rebuild a chunked layer's exact tar",
  positionals: [{ name: "BLOB", description: "a zstd:chunked or eStargz layer blob file" }],
  options: [
    ANNOTATIONS_OPTION,
    {
      name: "output",
      short: "o",
      type: "string",
      value: "OUT.tar",
      description: "where to write the tar (required); written only once complete",
    },
    {
      name: "diff-id",
      type: "string",
      value: "sha256:...",
      description: "the tar must hash to this digest, else nothing is written",
    },
    STRICT_OPTION,
  ],
  description:
    "Rebuilds the tar from the TOC, the tar-split and the chunks, read as ranges (never by decompressing the whole blob), hashing on the fly. Prints the tar's digest on stdout.",
  examples: [
    "chunkpull layer rebuild layer.blob --annotations a.json -o layer.tar --diff-id sha256:...",
  ],
  run: layerRebuild,
};

async function layerRebuild({ values, positionals }: Invocation): Promise<number> {
  const output = str(values, "output");
  if (!output) throw new UsageError("-o OUT.tar is required");
  const diffIdText = str(values, "diff-id");
  const expected = diffIdText === undefined ? undefined : parseDiffIdOption(diffIdText);
  const annotationsPath = str(values, "annotations");
  const annotations = annotationsPath ? await readAnnotationsFile(annotationsPath) : undefined;
  const src = await openFileSource(positionals[0]!);
  // Written beside the target and renamed only once verified: a failed rebuild leaves no OUT.tar.
  const partial = `${output}.partial`;
  let out: WriteStream | undefined;
  try {
    const layer = await openChunkedLayer(src, annotations, { strict: values.strict === true });
    out = createWriteStream(partial);
    const hasher = new PaddedTarHash();
    for await (const piece of rebuildLayerTar(src, layer)) {
      hasher.update(piece);
      if (!out.write(piece)) await once(out, "drain");
    }
    let actual = hasher.digest();
    // A frames-rebuilt tar whose writer cut the trailing padding (c/storage 1.43): the zeros
    // are appended only when the diff_id proves them.
    const padding =
      expected !== undefined && actual !== expected && strategyFor(layer).kind === "frames"
        ? hasher.paddingFor(expected)
        : undefined;
    if (padding !== undefined) {
      out.write(Buffer.alloc(padding));
      actual = expected!;
    }
    out.end();
    await once(out, "finish");
    if (expected !== undefined && actual !== expected) {
      throw new DigestMismatchError(`rebuilt tar of ${positionals[0]}`, expected, actual);
    }
    const size = hasher.length + (padding ?? 0);
    await rename(partial, output);
    process.stdout.write(`${actual}\n`);
    process.stderr.write(
      `rebuilt ${size} bytes to ${output}${expected ? " (diff_id verified)" : ""}${padding ? ` (${padding} bytes of trailing padding restored)` : ""}\n`,
    );
    return 0;
  } catch (err) {
    await discardPartial(out, partial);
    throw err;
  } finally {
    await src.close();
  }
}

/** A malformed --diff-id is a usage error (exit 2), not a layer failure. */
function parseDiffIdOption(text: string): Digest {
  try {
    return parseDigest(text, "--diff-id");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
