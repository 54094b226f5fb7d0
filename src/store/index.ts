/** The local content-addressed store: public surface. */
export { defaultStoreDir } from "./layout.js";
export type { LockTimings } from "./locks.js";
export { openStore, type PullHandle, Store, type StoreOptions } from "./store.js";
export type {
  ChunkPointer,
  GcResult,
  LayerRecord,
  LayerRecordInput,
  StoredLayer,
  StoreStats,
  VerifyPolicy,
} from "./types.js";
