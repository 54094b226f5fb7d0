/**
 * `chunkpull store ls|gc|export`: look at the content store, collect what no layer needs, and
 * write a stored layer's exact tar (rebuilt from the store, checked against its diff_id).
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { parseDigest } from "../digest.js";
import { UsageError } from "../errors.js";
import { storedLayerTar } from "../output/layer-tar.js";
import { defaultStoreDir, openStore } from "../store/index.js";
import { parse, str } from "./args.js";
import { formatBytes } from "./render.js";

export async function storeList(args: string[]): Promise<number> {
  const { values } = parse(args, { store: { type: "string" }, json: { type: "boolean" } }, []);
  const store = await openStore(str(values, "store") ?? defaultStoreDir());
  const [layers, stats] = await Promise.all([store.listLayers(), store.stats()]);
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ stats, layers }, null, 2)}\n`);
    return 0;
  }
  for (const l of layers) {
    process.stdout.write(
      `${l.diffId}  ${l.format.padEnd(12)} verified by ${l.verified.padEnd(7)} ${formatBytes(l.uncompressedSize).padStart(10)}  from ${l.compressedDigest}\n`,
    );
  }
  process.stdout.write(
    `${stats.layers} layer(s), ${stats.objects} object(s) (${formatBytes(stats.objectBytes)}), ${stats.chunkPointers} chunk pointer(s), ${formatBytes(stats.diskBytes)} on disk\n`,
  );
  return 0;
}

export async function storeGc(args: string[]): Promise<number> {
  const { values } = parse(args, { store: { type: "string" }, json: { type: "boolean" } }, []);
  const store = await openStore(str(values, "store") ?? defaultStoreDir());
  const r = await store.gc();
  if (values.json === true) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(
      `removed ${r.removedObjects} object(s), ${r.removedChunks} chunk pointer(s), ${r.removedTempFiles} temp file(s), ${r.removedLayerDirs} unfinished layer(s); freed ${formatBytes(r.freedBytes)}\n`,
    );
  }
  return 0;
}

export async function storeExport(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { store: { type: "string" }, output: { type: "string", short: "o" } },
    ["DIFF_ID"],
  );
  const diffId = parseDigest(positionals[0], "DIFF_ID");
  const output = str(values, "output");
  if (!output) throw new UsageError("-o OUT.tar is required");
  const store = await openStore(str(values, "store") ?? defaultStoreDir());
  const handle = await store.beginPull(); // keeps gc away while the objects are read
  const partial = `${output}.partial`;
  const out = createWriteStream(partial);
  try {
    for await (const piece of storedLayerTar(store, diffId)) {
      if (!out.write(piece)) await once(out, "drain");
    }
    out.end();
    await once(out, "finish");
    await rename(partial, output);
    process.stdout.write(`${diffId}\n`);
    return 0;
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  } finally {
    await handle.end();
  }
}
