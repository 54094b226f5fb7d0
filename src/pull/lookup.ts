/**
 * Gathers, before planning, which of a layer's files and chunks the store already holds. One at
 * a time: each check is a synchronous stat or readlink (store/objects.ts), so concurrency would
 * only add scheduling; only a check that must re-hash an object waits on the disk.
 */
import type { Digest } from "../digest.js";
import type { FileRef } from "../formats/layer-index.js";
import type { Store } from "../store/store.js";
import { lookupDigest } from "./plan.js";

export interface StoreHits {
  haveFile: Set<Digest>;
  haveChunk: Set<Digest>;
}

export async function lookupStore(files: readonly FileRef[], store: Store): Promise<StoreHits> {
  const haveFile = new Set<Digest>();
  const haveChunk = new Set<Digest>();
  const fileDigests = new Map(files.map((f) => [f.digest, f.size]));
  for (const [d, size] of fileDigests) if (await store.hasObject(d, size)) haveFile.add(d);
  // Chunks matter only for files the store lacks (a held file is taken whole).
  const chunkDigests = new Set<Digest>();
  for (const f of files) {
    // A single chunk is the whole file: the file lookup covers it.
    if (f.chunks.length < 2 || haveFile.has(f.digest)) continue;
    for (const c of f.chunks) {
      const d = c.zeros ? undefined : lookupDigest(f, c);
      if (d && !fileDigests.has(d)) chunkDigests.add(d);
    }
  }
  for (const d of chunkDigests) if (await store.hasChunk(d)) haveChunk.add(d);
  return { haveFile, haveChunk };
}
