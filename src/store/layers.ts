/**
 * Layer records: `layers/<algo>/<hh>/<rest>/` holds `toc.json`, `tar-split.json` and
 * `record.json`. The record is written last (after every file it depends on is durable), so a
 * layer is present exactly when its record exists; a crash before that leaves only unreferenced
 * files that gc removes.
 */
import { readdir, readFile, rm, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Digest, parseDigest } from "../digest.js";
import { FormatError, UsageError } from "../errors.js";
import { commitTemp, discardTemp, fsyncDir, type TempFile, writeTemp } from "./atomic.js";
import { digestFromParts, type StoreLayout } from "./layout.js";
import type { LayerRecord, LayerRecordInput, StoredLayer } from "./types.js";

const RECORD = "record.json";
const TOC = "toc.json";
const TAR_SPLIT = "tar-split.json";

export type Bytes = Uint8Array | AsyncIterable<Uint8Array>;

export async function putLayer(
  layout: StoreLayout,
  input: LayerRecordInput,
  toc: Bytes,
  tarSplit: Bytes,
): Promise<LayerRecord> {
  const diffId = parseDigest(input.diffId, "layer diffId");
  const objects = input.objects.map((d) => parseDigest(d, `layer ${diffId} object`));
  // The record must never reference an object that is not durable yet.
  const objectDirs = new Set<string>();
  for (const d of new Set(objects)) {
    const path = layout.object(d);
    if (!(await stat(path).catch(() => undefined))) {
      throw new UsageError(`putLayer ${diffId}: object ${d} is not in the store`);
    }
    objectDirs.add(dirname(path));
  }
  for (const dir of objectDirs) await fsyncDir(dir);

  const dir = layout.layerDir(diffId);
  // A re-put first withdraws the old record, so record and files never disagree after a crash.
  await unlink(join(dir, RECORD)).catch(() => {});
  const temps: TempFile[] = [];
  try {
    const tocTemp = await writeTemp(layout.tmpDir, toc, { fsync: true });
    temps.push(tocTemp);
    const splitTemp = await writeTemp(layout.tmpDir, tarSplit, { fsync: true });
    temps.push(splitTemp);
    await commitTemp(tocTemp.path, join(dir, TOC));
    await commitTemp(splitTemp.path, join(dir, TAR_SPLIT));
    const record: LayerRecord = {
      version: 1,
      ...input,
      diffId,
      objects,
      created: new Date().toISOString(),
      toc: { digest: tocTemp.digest, size: tocTemp.size },
      tarSplit: { digest: splitTemp.digest, size: splitTemp.size },
    };
    const recordTemp = await writeTemp(layout.tmpDir, Buffer.from(JSON.stringify(record)), {
      fsync: true,
    });
    temps.push(recordTemp);
    await fsyncDir(dir);
    await commitTemp(recordTemp.path, join(dir, RECORD));
    await fsyncDir(dir);
    return record;
  } finally {
    for (const t of temps) await discardTemp(t.path);
  }
}

/**
 * The layer stored under `diffId`, or undefined when it has no record or its metadata files do
 * not match the record (damaged, or a concurrent re-put of the same diff_id from another blob).
 */
export async function getLayer(
  layout: StoreLayout,
  diffId: Digest,
): Promise<StoredLayer | undefined> {
  const dir = layout.layerDir(parseDigest(diffId, "layer diffId"));
  const record = await readRecord(join(dir, RECORD));
  if (!record || record.diffId !== diffId) return undefined;
  const tocPath = join(dir, TOC);
  const tarSplitPath = join(dir, TAR_SPLIT);
  const [tocStat, splitStat] = await Promise.all([
    stat(tocPath).catch(() => undefined),
    stat(tarSplitPath).catch(() => undefined),
  ]);
  if (tocStat?.size !== record.toc.size || splitStat?.size !== record.tarSplit.size) {
    return undefined;
  }
  return { record, dir, tocPath, tarSplitPath };
}

/** Withdraw a layer: the record goes first, so the layer is absent even if the rest fails. */
export async function removeLayer(layout: StoreLayout, diffId: Digest): Promise<boolean> {
  const dir = layout.layerDir(parseDigest(diffId, "layer diffId"));
  const existed = await unlink(join(dir, RECORD)).then(
    () => true,
    () => false,
  );
  await rm(dir, { recursive: true, force: true });
  return existed;
}

/** Every layer directory, with its record when one exists. */
export async function* walkLayers(
  layout: StoreLayout,
): AsyncGenerator<{ dir: string; diffId?: Digest; record?: LayerRecord }> {
  for (const algo of await readdirOrEmpty(layout.layersDir)) {
    for (const hh of await readdirOrEmpty(join(layout.layersDir, algo))) {
      for (const rest of await readdirOrEmpty(join(layout.layersDir, algo, hh))) {
        const dir = join(layout.layersDir, algo, hh, rest);
        const diffId = digestFromParts(algo, hh, rest);
        const record = await readRecord(join(dir, RECORD));
        yield { dir, ...(diffId && { diffId }), ...(record && { record }) };
      }
    }
  }
}

export async function listLayers(layout: StoreLayout): Promise<LayerRecord[]> {
  const out: LayerRecord[] = [];
  for await (const l of walkLayers(layout)) if (l.record) out.push(l.record);
  return out;
}

export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Parse and validate a record file; undefined when absent, FormatError when damaged. */
async function readRecord(path: string): Promise<LayerRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new FormatError(`layer record ${path}: invalid JSON`, { cause: err });
  }
  return validateRecord(value, path);
}

function validateRecord(value: unknown, path: string): LayerRecord {
  const r = value as Partial<LayerRecord> | null;
  const fail = (what: string): never => {
    throw new FormatError(`layer record ${path}: ${what}`);
  };
  if (typeof r !== "object" || r === null) return fail("not an object");
  if (r.version !== 1) fail(`unsupported version ${JSON.stringify(r.version)}`);
  parseDigest(r.diffId, `layer record ${path}: diffId`);
  parseDigest(r.compressedDigest, `layer record ${path}: compressedDigest`);
  if (!Array.isArray(r.objects)) fail("objects is not a list");
  for (const d of r.objects!) parseDigest(d, `layer record ${path}: object`);
  for (const key of ["toc", "tarSplit"] as const) {
    const f = r[key];
    if (!f || !Number.isSafeInteger(f.size)) fail(`${key} size missing`);
    parseDigest(f!.digest, `layer record ${path}: ${key} digest`);
  }
  if (r.verified !== "diff_id" && r.verified !== "toc") fail("unknown verify policy");
  return r as LayerRecord;
}
