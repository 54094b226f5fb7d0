/**
 * What the store's space goes to (`store du`): per layer and per recorded image, the apparent
 * bytes of the objects it needs and how many of those no other layer/image needs (what removing
 * it would free), plus what nothing references (what `gc` would free).
 */
import type { Digest } from "../digest.js";
import type { Store } from "./store.js";

export interface UsageEntry {
  /** diff_id for a layer, the reference for an image. */
  name: string;
  layers: number;
  bytes: number;
  /** Bytes of objects no other entry of the same kind needs. */
  exclusiveBytes: number;
}

export interface StoreUsage {
  layers: UsageEntry[];
  images: UsageEntry[];
  objectBytes: number;
  /** Objects no layer needs (gc would remove them). */
  unreferencedBytes: number;
}

export async function storeUsage(store: Store): Promise<StoreUsage> {
  const sizes = await store.objectSizes();
  const layers = await store.listLayers();
  const objectsOf = new Map<Digest, Set<Digest>>(
    layers.map((l) => [l.diffId, new Set(l.objects.filter((d) => sizes.has(d)))]),
  );
  const images = (await store.listImages()).map((img) => {
    const objects = new Set<Digest>();
    for (const id of img.diffIds) for (const d of objectsOf.get(id) ?? []) objects.add(d);
    return { name: img.reference, layers: img.diffIds.length, objects };
  });
  const layerEntries = [...objectsOf].map(([id, objects]) => ({ name: id, layers: 1, objects }));
  const referenced = new Set<Digest>();
  for (const set of objectsOf.values()) for (const d of set) referenced.add(d);
  const objectBytes = [...sizes.values()].reduce((n, s) => n + s, 0);
  let unreferencedBytes = 0;
  for (const [d, s] of sizes) if (!referenced.has(d)) unreferencedBytes += s;
  return {
    layers: entries(layerEntries, sizes),
    images: entries(images, sizes),
    objectBytes,
    unreferencedBytes,
  };
}

function entries(
  list: { name: string; layers: number; objects: Set<Digest> }[],
  sizes: Map<Digest, number>,
): UsageEntry[] {
  const users = new Map<Digest, number>();
  for (const e of list) for (const d of e.objects) users.set(d, (users.get(d) ?? 0) + 1);
  return list.map((e) => {
    let bytes = 0;
    let exclusiveBytes = 0;
    for (const d of e.objects) {
      const s = sizes.get(d) ?? 0;
      bytes += s;
      if (users.get(d) === 1) exclusiveBytes += s;
    }
    return { name: e.name, layers: e.layers, bytes, exclusiveBytes };
  });
}
