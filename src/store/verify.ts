/**
 * `verify`: re-hash everything the store holds and report (or, with `repair`, drop) what is
 * damaged. Objects must hash to their names and be regular files; pointers must decode and point
 * at bytes that hash to the chunk digest; records must parse, their files index and tar-split
 * must hash to what the record says, and every object they name must be present and sound.
 * Repair only removes: a damaged object, pointer or layer is a miss the next pull fetches again
 * (a layer that lost an object is withdrawn, since it can no longer be rebuilt).
 */
import { lstat, readlink, unlink, utimes } from "node:fs/promises";
import { algorithmOf, type Digest, digestOf } from "../digest.js";
import { decodePointer } from "./chunks.js";
import { walkFanOut } from "./gc.js";
import { metadataPaths, removeLayer, walkLayers } from "./layers.js";
import type { StoreLayout } from "./layout.js";
import { hashFile, OBJECT_STAMP_S } from "./objects.js";
import type { LayerRecord } from "./types.js";

export interface VerifyProblem {
  kind: "object" | "pointer" | "layer";
  /** The digest (or path, when the name is not a digest) of what is damaged. */
  name: string;
  reason: string;
}

export interface VerifyReport {
  objects: number;
  pointers: number;
  layers: number;
  problems: VerifyProblem[];
  /** Whether the problems were removed (`repair`). */
  repaired: boolean;
}

export type RangeReader = (object: Digest, offset: number, length: number) => Promise<Buffer>;

export async function verifyStore(
  layout: StoreLayout,
  readRange: RangeReader,
  options: { repair?: boolean } = {},
): Promise<VerifyReport> {
  const repair = options.repair ?? false;
  const report: VerifyReport = {
    objects: 0,
    pointers: 0,
    layers: 0,
    problems: [],
    repaired: repair,
  };
  const problem = (kind: VerifyProblem["kind"], name: string, reason: string) =>
    report.problems.push({ kind, name, reason });
  const drop = async (path: string) => {
    if (repair) await unlink(path).catch(() => {});
  };

  const badObjects = new Set<string>();
  for await (const { path, digest } of walkFanOut(layout.objectsDir)) {
    report.objects++;
    const reason = await objectProblem(path, digest);
    if (reason) {
      badObjects.add(digest ?? path);
      problem("object", digest ?? path, reason);
      await drop(path);
    } else if (repair) {
      await utimes(path, OBJECT_STAMP_S, OBJECT_STAMP_S).catch(() => {});
    }
  }

  for await (const { path, digest } of walkFanOut(layout.chunksDir)) {
    report.pointers++;
    const reason = await pointerProblem(path, digest, badObjects, readRange);
    if (reason) {
      problem("pointer", digest ?? path, reason);
      await drop(path);
    }
  }

  for await (const layer of walkLayers(layout)) {
    if (!layer.record && !layer.damage) continue; // unfinished (gc's business) or newer
    report.layers++;
    const name = layer.diffId ?? layer.dir;
    const reason =
      layer.damage ?? (await layerProblem(layout, layer.dir, layer.record!, badObjects));
    if (reason) {
      problem("layer", name, reason);
      if (repair && layer.diffId) await removeLayer(layout, layer.diffId);
    }
  }
  return report;
}

async function objectProblem(
  path: string,
  digest: Digest | undefined,
): Promise<string | undefined> {
  if (!digest) return "its name is not a digest";
  const st = await lstat(path).catch(() => undefined);
  if (!st) return undefined; // removed meanwhile (gc): nothing to judge
  if (!st.isFile())
    return st.isSymbolicLink() ? "a symbolic link, not a file" : "not a regular file";
  const actual = await hashFile(path, digest).catch((err: Error) => `unreadable: ${err.message}`);
  return actual === digest ? undefined : `content hashes to ${actual}`;
}

async function pointerProblem(
  path: string,
  chunk: Digest | undefined,
  badObjects: Set<string>,
  readRange: RangeReader,
): Promise<string | undefined> {
  if (!chunk) return "its name is not a digest";
  const text = await readlink(path).catch(() => undefined);
  const pointer = text === undefined ? undefined : decodePointer(text);
  if (!pointer) return "not a valid pointer";
  if (badObjects.has(pointer.object)) return `points into damaged object ${pointer.object}`;
  const bytes = await readRange(pointer.object, pointer.offset, pointer.length).catch(
    () => undefined,
  );
  if (!bytes) return `points past ${pointer.object} or at a missing object`;
  return digestOf(bytes, algorithmOf(chunk)) === chunk ? undefined : "points at other bytes";
}

async function layerProblem(
  layout: StoreLayout,
  dir: string,
  record: LayerRecord,
  badObjects: Set<string>,
): Promise<string | undefined> {
  const { filesPath, tarSplitPath } = await metadataPaths(dir);
  for (const [what, path, want] of [
    ["files index", filesPath, record.files.digest],
    ["tar-split", tarSplitPath, record.tarSplit.digest],
  ] as const) {
    const actual = await hashFile(path, want).catch(() => undefined);
    if (actual !== want) return `${what} ${actual ? "does not match its record" : "is missing"}`;
  }
  for (const d of new Set(record.objects)) {
    if (badObjects.has(d)) return `object ${d} is damaged`;
    const st = await lstat(layout.object(d)).catch(() => undefined);
    if (!st?.isFile()) return `object ${d} is missing`;
  }
  return undefined;
}
