/**
 * `chunkpull store ls|du|gc|rm|verify|export`: look at the content store, see where its space
 * goes, remove images or layers, collect what no layer needs, re-hash everything, and write a
 * stored layer's exact tar. Read-only commands never create a store (`--store /typo` is
 * ENOSTORE) and work on a read-only or full store.
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import type { Digest } from "../digest.js";
import { ChunkpullError, NotInStoreError, UsageError } from "../errors.js";
import { parseReference } from "../reference.js";
import {
  defaultStoreDir,
  type ImageRecord,
  isDigestSpec,
  matchDigest,
  matchDigests,
  openStore,
  type Store,
  storeUsage,
} from "../store/index.js";
import { parse, str } from "./args.js";
import { formatBytes } from "./render.js";

type Values = Record<string, string | boolean | undefined>;

function open(values: Values, create = false): Promise<Store> {
  return openStore(str(values, "store") ?? defaultStoreDir(), { create });
}

const out = (text: string) => process.stdout.write(text);
const short = (d: string) => d.slice(0, 19);

export async function storeList(args: string[]): Promise<number> {
  const { values } = parse(args, { store: { type: "string" }, json: { type: "boolean" } }, []);
  const store = await open(values);
  const [layers, images, damaged, stats] = await Promise.all([
    store.listLayers(),
    store.listImages(),
    store.damagedLayers(),
    store.stats(),
  ]);
  for (const d of damaged) {
    process.stderr.write(
      `chunkpull: warning: layer ${d.diffId} skipped: ${d.reason} (store verify --repair drops it)\n`,
    );
  }
  const present = new Set(layers.map((l) => l.diffId));
  if (values.json === true) {
    out(`${JSON.stringify({ stats, images, layers, damaged }, null, 2)}\n`);
    return 0;
  }
  for (const img of images) {
    const missing = img.diffIds.filter((d) => !present.has(d)).length;
    out(
      `image ${img.reference}  ${short(img.manifestDigest)}  ${img.diffIds.length} layer(s)${missing ? `, ${missing} no longer stored` : ""}\n`,
    );
  }
  const namedBy = (diffId: Digest) => images.filter((i) => i.diffIds.includes(diffId));
  for (const l of layers) {
    const refs = namedBy(l.diffId).map((i) => i.reference);
    out(
      `${l.diffId}  ${l.format.padEnd(12)} verified by ${l.verified.padEnd(7)} ${formatBytes(l.uncompressedSize).padStart(10)}  from ${short(l.compressedDigest)}${refs.length ? `  in ${refs.join(", ")}` : ""}\n`,
    );
  }
  out(
    `${images.length} image(s), ${stats.layers} layer(s), ${stats.objects} object(s) (${formatBytes(stats.objectBytes)}), ${stats.chunkPointers} chunk pointer(s), ${formatBytes(stats.diskBytes)} on disk\n`,
  );
  return 0;
}

export async function storeDu(args: string[]): Promise<number> {
  const { values } = parse(args, { store: { type: "string" }, json: { type: "boolean" } }, []);
  const usage = await storeUsage(await open(values));
  if (values.json === true) {
    out(`${JSON.stringify(usage, null, 2)}\n`);
    return 0;
  }
  const row = (size: number, own: number, name: string) =>
    out(`${formatBytes(size).padStart(10)}  ${formatBytes(own).padStart(10)}  ${name}\n`);
  out(`${"SIZE".padStart(10)}  ${"OWN".padStart(10)}  NAME (OWN: freed by removing it alone)\n`);
  for (const i of usage.images) row(i.bytes, i.exclusiveBytes, `image ${i.name}`);
  for (const l of usage.layers) row(l.bytes, l.exclusiveBytes, `layer ${l.name}`);
  row(usage.unreferencedBytes, usage.unreferencedBytes, "not referenced (store gc frees it)");
  row(usage.objectBytes, usage.objectBytes, "total file objects");
  return 0;
}

export async function storeGc(args: string[]): Promise<number> {
  const { values } = parse(args, { store: { type: "string" }, json: { type: "boolean" } }, []);
  const store = await open(values);
  const r = await store.gc();
  if (values.json === true) out(`${JSON.stringify(r)}\n`);
  else out(`${gcLine(r)}\n`);
  return 0;
}

function gcLine(r: Awaited<ReturnType<Store["gc"]>>): string {
  const damaged = r.damagedLayers.length ? `, ${r.damagedLayers.length} damaged layer(s)` : "";
  return `removed ${r.removedObjects} object(s), ${r.removedChunks} chunk pointer(s), ${r.removedTempFiles} temp file(s), ${r.removedLayerDirs} unfinished layer(s)${damaged}; freed ${formatBytes(r.freedBytes)}`;
}

/** `store rm REF|DIGEST`: images (with the layers only they name) or layers, then gc. */
export async function storeRm(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { store: { type: "string" }, json: { type: "boolean" }, "no-gc": { type: "boolean" } },
    ["REF|DIGEST"],
  );
  const store = await open(values);
  const removed = { images: [] as string[], layers: [] as string[] };
  for (const spec of positionals) {
    const images = await store.listImages();
    const image = findImage(spec, images);
    if (image) {
      await store.removeImage(image.reference);
      removed.images.push(image.reference);
      const stillNamed = new Set(
        images.filter((i) => i.reference !== image.reference).flatMap((i) => i.diffIds),
      );
      for (const id of image.diffIds) {
        if (!stillNamed.has(id) && (await store.removeLayer(id))) removed.layers.push(id);
      }
      continue;
    }
    if (!isDigestSpec(spec)) {
      throw new NotInStoreError(`no image ${spec} in the store`);
    }
    const diffId = await resolveLayer(store, spec);
    await store.removeLayer(diffId);
    removed.layers.push(diffId);
  }
  const gc = values["no-gc"] === true ? undefined : await store.gc();
  if (values.json === true) out(`${JSON.stringify({ removed, gc })}\n`);
  else {
    for (const i of removed.images) out(`removed image ${i}\n`);
    for (const l of removed.layers) out(`removed layer ${l}\n`);
    if (gc) out(`${gcLine(gc)}\n`);
  }
  return 0;
}

function findImage(spec: string, images: ImageRecord[]): ImageRecord | undefined {
  const exact = images.find((i) => i.reference === spec);
  if (exact) return exact;
  let normal: string | undefined;
  try {
    normal = parseReference(spec).toString();
  } catch {
    normal = undefined;
  }
  const byRef = images.find((i) => i.reference === normal);
  if (byRef || !isDigestSpec(spec)) return byRef;
  const byManifest = matchDigests(
    spec,
    images.map((i) => i.manifestDigest),
  );
  return byManifest.length === 1
    ? images.find((i) => i.manifestDigest === byManifest[0])
    : undefined;
}

/** A layer by diff_id (or prefix), else by its compressed digest (or prefix). */
async function resolveLayer(store: Store, spec: string): Promise<Digest> {
  const layers = await store.listLayers();
  const byDiffId = matchDigests(
    spec,
    layers.map((l) => l.diffId),
  );
  if (byDiffId.length > 0) return matchDigest(spec, byDiffId, "layer");
  const byBlob = matchDigest(
    spec,
    layers.map((l) => l.compressedDigest),
    "layer",
  );
  return layers.find((l) => l.compressedDigest === byBlob)!.diffId;
}

export async function storeVerify(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    { store: { type: "string" }, json: { type: "boolean" }, repair: { type: "boolean" } },
    [],
  );
  const repair = values.repair === true;
  const store = await open(values);
  // Repairs remove things: hold a pull marker so gc does not run alongside.
  const handle = repair ? await store.beginPull() : undefined;
  try {
    const r = await store.verify({ repair });
    if (values.json === true) out(`${JSON.stringify(r, null, 2)}\n`);
    else {
      for (const p of r.problems) {
        out(`${repair ? "removed" : "damaged"} ${p.kind} ${p.name}: ${p.reason}\n`);
      }
      out(
        `checked ${r.objects} object(s), ${r.pointers} chunk pointer(s), ${r.layers} layer(s): ${r.problems.length} problem(s)${r.problems.length && !repair ? " (store verify --repair removes them)" : ""}\n`,
      );
    }
    return r.problems.length > 0 && !repair ? 1 : 0;
  } finally {
    await handle?.end();
  }
}

export async function storeExport(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { store: { type: "string" }, output: { type: "string", short: "o" } },
    ["DIFF_ID"],
  );
  const output = str(values, "output");
  if (!output) throw new UsageError("-o OUT.tar is required");
  const store = await open(values);
  const diffId = await resolveLayer(store, positionals[0]!);
  // Keeps gc away while the objects are read; a read-only store has no gc to keep away.
  const handle = await store.beginPull().catch((err: unknown) => {
    if (err instanceof ChunkpullError && err.code === "ESTORE") return undefined;
    throw err;
  });
  const partial = `${output}.partial`;
  const file = createWriteStream(partial);
  try {
    for await (const piece of store.layerTar(diffId)) {
      if (!file.write(piece)) await once(file, "drain");
    }
    file.end();
    await once(file, "finish");
    await rename(partial, output);
    out(`${diffId}\n`);
    return 0;
  } catch (err) {
    file.destroy();
    await rm(partial, { force: true });
    throw err;
  } finally {
    await handle?.end();
  }
}
