/**
 * `chunkpull layer rebuild BLOB -o OUT.tar`: rebuilds the layer tar from the TOC, the tar-split
 * and the chunks (read as ranges, never by decompressing the whole blob), hashing on the fly.
 */

import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { type Digest, parseDigest } from "../digest.js";
import { DigestMismatchError, UsageError } from "../errors.js";
import { openFileSource } from "../formats/file-source.js";
import { openChunkedLayer, rebuildLayerTar } from "../formats/open.js";
import { strategyFor } from "../formats/rebuild.js";
import { PaddedTarHash } from "../formats/tar/padding.js";
import { parse, readAnnotationsFile, str } from "./args.js";

export async function layerRebuild(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      annotations: { type: "string" },
      output: { type: "string", short: "o" },
      "diff-id": { type: "string" },
      strict: { type: "boolean" },
    },
    ["BLOB"],
  );
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
    if (out !== undefined) {
      // Wait for the close: a stream destroyed before its open finished would otherwise create
      // the file after the rm below.
      out.destroy();
      if (!out.closed) await once(out, "close");
    }
    await rm(partial, { force: true });
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
