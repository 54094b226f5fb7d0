/**
 * A stored layer's exact tar, rebuilt from its tar-split and the store's file objects and
 * checked against its diff_id on the way out (the last piece is withheld until the hash
 * matches, so a consumer never sees a complete wrong tar). The store owns this face
 * (`store.layerTar`); this name stays for the output writers.
 */
import type { Digest } from "../digest.js";
import type { Store } from "../store/store.js";

export function storedLayerTar(store: Store, diffId: Digest): AsyncGenerator<Buffer> {
  return store.layerTar(diffId);
}
