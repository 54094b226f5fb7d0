/**
 * Garbage collection. Runs under the gc lock with no live pull (see locks.ts), so the set of
 * layer records cannot grow while it works. Live = every object named by a usable layer record.
 * Removed, in this order: layer directories without a usable record (unfinished or damaged),
 * pointers into objects that are not live (or malformed ones), then the unreferenced objects,
 * then temp files whose writer is dead (or that are older than a day). Pointers go before their
 * objects, so gc killed at any moment never leaves a pointer to a removed object; anything it
 * leaves is garbage the next gc removes.
 */
import { lstat, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../digest.js";
import { UnsupportedError } from "../errors.js";
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
      damagedLayers: [],
      freedBytes: 0,
    };
    const live = new Set<Digest>();
    const orphanDirs: string[] = [];
    for await (const layer of walkLayers(layout)) {
      // A record from a newer chunkpull: its liveness rules are unknown, so nothing is deleted.
      if (layer.newer) throw new UnsupportedError(`gc refuses to run: ${layer.newer}`);
      if (layer.record) for (const d of layer.record.objects) live.add(d);
      else {
        // Unfinished (no record) or damaged: the layer is absent for every reader either way.
        if (layer.damage) result.damagedLayers.push(layer.diffId ?? layer.dir);
        orphanDirs.push(layer.dir);
      }
    }
    for (const dir of orphanDirs) {
      result.freedBytes += await treeSize(dir);
      await rm(dir, { recursive: true, force: true });
      result.removedLayerDirs++;
    }

    // Pointers first: one is kept only while its object is live and still there.
    for await (const { path } of walkFanOut(layout.chunksDir)) {
      const pointer = await readPointerAt(path);
      if (pointer && live.has(pointer.object) && (await present(layout.object(pointer.object)))) {
        continue;
      }
      result.freedBytes += await removeFile(path);
      result.removedChunks++;
    }

    for await (const { path, digest } of walkFanOut(layout.objectsDir)) {
      if (digest && live.has(digest)) continue;
      result.freedBytes += await removeFile(path);
      result.removedObjects++;
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

async function present(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
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
