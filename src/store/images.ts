/**
 * Image references a pull recorded: `images/<sha256 of the reference, hex>.json`, one small JSON
 * file per reference (the last pull of that reference wins). They only name layers; they keep
 * nothing alive (a layer stays until `removeLayer`, whatever names it), and a lost or damaged one
 * costs a name in `store ls`, never content. Written through a temp file and a rename.
 */
import { createHash } from "node:crypto";
import { readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, parseDigest } from "../digest.js";
import { commitTemp, discardTemp, writeTemp } from "./atomic.js";
import { readdirOrEmpty } from "./layers.js";
import type { StoreLayout } from "./layout.js";

export interface ImageRecord {
  version: 1;
  /** The reference as the pull resolved it (`registry/repository:tag` or `@digest`). */
  reference: string;
  manifestDigest: Digest;
  configDigest?: Digest;
  platform?: string;
  /** The image's layers, bottom first, by diff_id. */
  diffIds: Digest[];
  /** ISO 8601 time of the pull. */
  pulled: string;
}

function imagePath(layout: StoreLayout, reference: string): string {
  return join(layout.imagesDir, `${createHash("sha256").update(reference).digest("hex")}.json`);
}

export async function putImage(
  layout: StoreLayout,
  image: Omit<ImageRecord, "version" | "pulled">,
): Promise<ImageRecord> {
  const record: ImageRecord = { version: 1, ...image, pulled: new Date().toISOString() };
  const temp = await writeTemp(layout.tmpDir, Buffer.from(JSON.stringify(record)), {
    fsync: false,
    what: `image record ${image.reference}`,
  });
  try {
    await commitTemp(temp.path, imagePath(layout, image.reference));
  } finally {
    await discardTemp(temp.path);
  }
  return record;
}

/** Every readable image record (damaged ones are skipped: they only name layers). */
export async function listImages(layout: StoreLayout): Promise<ImageRecord[]> {
  const out: ImageRecord[] = [];
  for (const name of await readdirOrEmpty(layout.imagesDir)) {
    if (!name.endsWith(".json")) continue;
    const image = await readImage(join(layout.imagesDir, name));
    if (image) out.push(image);
  }
  return out.sort((a, b) => a.reference.localeCompare(b.reference));
}

export async function removeImage(layout: StoreLayout, reference: string): Promise<boolean> {
  return unlink(imagePath(layout, reference)).then(
    () => true,
    () => false,
  );
}

async function readImage(path: string): Promise<ImageRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, "utf8")) as ImageRecord;
    if (r.version !== 1 || typeof r.reference !== "string" || !Array.isArray(r.diffIds)) {
      return undefined;
    }
    parseDigest(r.manifestDigest);
    for (const d of r.diffIds) parseDigest(d);
    return r;
  } catch {
    return undefined;
  }
}
