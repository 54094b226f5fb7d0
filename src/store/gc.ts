/**
 * Garbage collection. Runs under the gc lock with no live pull (see locks.ts), so the set of
 * layer records cannot grow while it works. Live = every object named by a layer record. Removed:
 * unreferenced objects, pointers to objects that are gone (or malformed), layer directories
 * without a record, and temp files whose writer is dead (or that are older than a day).
 */
import { lstat, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../digest.js";
import { tempOwner } from "./atomic.js";
import { readPointerAt } from "./chunks.js";
import { readdirOrEmpty, walkLayers } from "./layers.js";
import { digestFromParts, type StoreLayout } from "./layout.js";
import { acquireGc, type LockTimings, pidAlive } from "./locks.js";
import type { GcResult } from "./types.js";

const TEMP_MAX_AGE_MS = 24 * 3600_000;

export async function collectGarbage(layout: StoreLayout, timings: LockTimings): Promise<GcResult> {
  const held = await acquireGc(layout.pullsDir, layout.gcLock, timings);
  try {
    const result: GcResult = {
      removedObjects: 0,
      removedChunks: 0,
      removedTempFiles: 0,
      removedLayerDirs: 0,
      freedBytes: 0,
    };
    // A damaged record throws here, before anything is deleted: gc never guesses liveness.
    const live = new Set<Digest>();
    const orphanDirs: string[] = [];
    for await (const layer of walkLayers(layout)) {
      if (layer.record) for (const d of layer.record.objects) live.add(d);
      else orphanDirs.push(layer.dir);
    }
    for (const dir of orphanDirs) {
      result.freedBytes += await treeSize(dir);
      await rm(dir, { recursive: true, force: true });
      result.removedLayerDirs++;
    }

    const kept = new Set<Digest>();
    for await (const { path, digest } of walkFanOut(layout.objectsDir)) {
      if (digest && live.has(digest)) {
        kept.add(digest);
        continue;
      }
      result.freedBytes += await removeFile(path);
      result.removedObjects++;
    }

    for await (const { path } of walkFanOut(layout.chunksDir)) {
      const pointer = await readPointerAt(path);
      if (pointer && kept.has(pointer.object)) continue;
      result.freedBytes += await removeFile(path);
      result.removedChunks++;
    }

    for (const name of await readdirOrEmpty(layout.tmpDir)) {
      const path = join(layout.tmpDir, name);
      const owner = tempOwner(name);
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      const old = Date.now() - st.mtimeMs > TEMP_MAX_AGE_MS;
      if (owner !== undefined && pidAlive(owner) && !old) continue;
      result.freedBytes += await removeFile(path);
      result.removedTempFiles++;
    }
    return result;
  } finally {
    await held.release();
  }
}

/** Every file under `<base>/<algo>/<hh>/<rest>`, with the digest its path names (if valid). */
export async function* walkFanOut(
  base: string,
): AsyncGenerator<{ path: string; digest: Digest | undefined }> {
  for (const algo of await readdirOrEmpty(base)) {
    for (const hh of await readdirOrEmpty(join(base, algo))) {
      for (const rest of await readdirOrEmpty(join(base, algo, hh))) {
        yield { path: join(base, algo, hh, rest), digest: digestFromParts(algo, hh, rest) };
      }
    }
  }
}

async function removeFile(path: string): Promise<number> {
  const size = (await lstat(path).catch(() => undefined))?.size ?? 0;
  await unlink(path).catch(() => {});
  return size;
}

async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdirOrEmpty(dir)) {
    total += (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0;
  }
  return total;
}
