/**
 * Layer records: `layers/<algo>/<hh>/<rest>/` holds `files.json` (the files index),
 * `tar-split.json` and `record.json`. The record is written last (after every file it depends on
 * is durable), so a layer is present exactly when its record exists; a crash before that leaves
 * only unreferenced files that gc removes. Stores written before the files index got its name
 * keep it in `toc.json` (and the record's `toc` key); both are still read.
 */
import { readdir, readFile, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, parseDigest } from "../digest.js";
import { FormatError, NotInStoreError, UnsupportedError } from "../errors.js";
import { commitTemp, discardTemp, fsyncDir, type TempFile, writeTemp } from "./atomic.js";
import { digestFromParts, type StoreLayout } from "./layout.js";
import { checkObject } from "./objects.js";
import type { LayerRecord, LayerRecordInput, StoredLayer } from "./types.js";

const RECORD = "record.json";
const FILES = "files.json";
/** The files index's name in stores written before it was renamed. */
const LEGACY_FILES = "toc.json";
const TAR_SPLIT = "tar-split.json";

export type Bytes = Uint8Array | AsyncIterable<Uint8Array>;

export async function putLayer(
  layout: StoreLayout,
  input: LayerRecordInput,
  files: Bytes,
  tarSplit: Bytes,
  /**
   * Object directories holding renames that are not durable yet (objects this process wrote
   * without a barrier): synced here, so the record never references an object a crash can lose.
   * Every other object was made durable by its writer before that writer's own record.
   */
  dirtyDirs: Iterable<string> = [],
): Promise<LayerRecord> {
  const diffId = parseDigest(input.diffId, "layer diffId");
  const objects = input.objects.map((d) => parseDigest(d, `layer ${diffId} object`));
  for (const d of new Set(objects)) {
    if ((await checkObject(layout.object(d), d)).state !== "ok") {
      throw new NotInStoreError(`layer ${diffId}: object ${d} is not in the store`);
    }
  }
  for (const dir of dirtyDirs) await fsyncDir(dir);

  const dir = layout.layerDir(diffId);
  // A re-put first withdraws the old record, so record and files never disagree after a crash.
  await unlink(join(dir, RECORD)).catch(() => {});
  const temps: TempFile[] = [];
  try {
    const what = (name: string) => ({ fsync: true, what: `layer ${diffId} ${name}` });
    const filesTemp = await writeTemp(layout.tmpDir, files, what("files index"));
    temps.push(filesTemp);
    const splitTemp = await writeTemp(layout.tmpDir, tarSplit, what("tar-split"));
    temps.push(splitTemp);
    await commitTemp(filesTemp.path, join(dir, FILES));
    await unlink(join(dir, LEGACY_FILES)).catch(() => {});
    await commitTemp(splitTemp.path, join(dir, TAR_SPLIT));
    const record: LayerRecord = {
      version: 1,
      ...input,
      diffId,
      objects,
      created: new Date().toISOString(),
      files: { digest: filesTemp.digest, size: filesTemp.size },
      tarSplit: { digest: splitTemp.digest, size: splitTemp.size },
    };
    const recordTemp = await writeTemp(
      layout.tmpDir,
      Buffer.from(JSON.stringify(record)),
      what("record"),
    );
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
 * The layer stored under `diffId`, or undefined when it has no usable record: none, a damaged
 * one, metadata files that do not match it (damage, or a concurrent re-put of the same diff_id
 * from another blob), or an object it needs that is missing or damaged (checked cheaply: see
 * objects.ts). Such a layer is simply pulled again.
 */
export async function getLayer(
  layout: StoreLayout,
  diffId: Digest,
): Promise<StoredLayer | undefined> {
  const dir = layout.layerDir(parseDigest(diffId, "layer diffId"));
  const read = await readRecord(join(dir, RECORD));
  const record = read && "record" in read ? read.record : undefined;
  if (!record || record.diffId !== diffId) return undefined;
  const paths = await metadataPaths(dir);
  const [filesStat, splitStat] = await Promise.all([
    stat(paths.filesPath).catch(() => undefined),
    stat(paths.tarSplitPath).catch(() => undefined),
  ]);
  if (filesStat?.size !== record.files.size || splitStat?.size !== record.tarSplit.size) {
    return undefined;
  }
  for (const d of new Set(record.objects)) {
    if ((await checkObject(layout.object(d), d)).state !== "ok") return undefined;
  }
  return { record, dir, ...paths, tocPath: paths.filesPath };
}

/** Where a layer directory's metadata files are (the files index under its new or old name). */
export async function metadataPaths(
  dir: string,
): Promise<{ filesPath: string; tarSplitPath: string }> {
  const current = join(dir, FILES);
  const legacy = join(dir, LEGACY_FILES);
  const filesPath = (await stat(current).catch(() => undefined))
    ? current
    : (await stat(legacy).catch(() => undefined))
      ? legacy
      : current;
  return { filesPath, tarSplitPath: join(dir, TAR_SPLIT) };
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

/** One layer directory as found: its record, or why its record cannot be used. */
export interface LayerEntry {
  dir: string;
  diffId?: Digest;
  record?: LayerRecord;
  /** The record exists but is damaged (truncated, not JSON, fields missing). */
  damage?: string;
  /** The record was written by a newer chunkpull: never collected, never overwritten by guess. */
  newer?: string;
}

/** Every layer directory, with its record when one exists. */
export async function* walkLayers(layout: StoreLayout): AsyncGenerator<LayerEntry> {
  for (const algo of await readdirOrEmpty(layout.layersDir)) {
    for (const hh of await readdirOrEmpty(join(layout.layersDir, algo))) {
      for (const rest of await readdirOrEmpty(join(layout.layersDir, algo, hh))) {
        const dir = join(layout.layersDir, algo, hh, rest);
        const diffId = digestFromParts(algo, hh, rest);
        const read = await readRecord(join(dir, RECORD));
        yield { dir, ...(diffId && { diffId }), ...read };
      }
    }
  }
}

/** Layers with a usable record (damaged records are skipped: see walkLayers for them). */
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

type ReadRecord = { record: LayerRecord } | { damage: string } | { newer: string };

/** Parse and validate a record file; undefined when absent. Never throws for bad content. */
export async function readRecord(path: string): Promise<ReadRecord | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return { damage: `record ${path} cannot be read: ${(err as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { damage: `record ${path} is not valid JSON (${text.length} bytes)` };
  }
  try {
    return { record: validateRecord(value, path) };
  } catch (err) {
    if (err instanceof UnsupportedError) return { newer: err.message };
    return { damage: (err as Error).message };
  }
}

function validateRecord(value: unknown, path: string): LayerRecord {
  const r = value as (Partial<LayerRecord> & { toc?: LayerRecord["files"] }) | null;
  const fail = (what: string): never => {
    throw new FormatError(`layer record ${path}: ${what}`);
  };
  if (typeof r !== "object" || r === null) return fail("not an object");
  if (typeof r.version === "number" && r.version > 1) {
    throw new UnsupportedError(`layer record ${path}: version ${r.version} is newer than 1`);
  }
  if (r.version !== 1) fail(`unsupported version ${JSON.stringify(r.version)}`);
  // Records written before the files index was renamed call it "toc".
  if (r.files === undefined && r.toc !== undefined) {
    r.files = r.toc;
    delete r.toc;
  }
  parseDigest(r.diffId, `layer record ${path}: diffId`);
  parseDigest(r.compressedDigest, `layer record ${path}: compressedDigest`);
  if (!Array.isArray(r.objects)) fail("objects is not a list");
  for (const d of r.objects!) parseDigest(d, `layer record ${path}: object`);
  for (const key of ["files", "tarSplit"] as const) {
    const f = r[key];
    if (!f || !Number.isSafeInteger(f.size)) fail(`${key} size missing`);
    parseDigest(f!.digest, `layer record ${path}: ${key} digest`);
  }
  // Older stores spelled the policy `diff_id`.
  if ((r.verified as string) === "diff_id") r.verified = "diff-id";
  if (r.verified !== "diff-id" && r.verified !== "toc") fail("unknown verify policy");
  if (typeof r.format !== "string" || typeof r.mediaType !== "string") fail("format missing");
  if (!Number.isSafeInteger(r.uncompressedSize)) fail("uncompressedSize missing");
  return r as LayerRecord;
}
