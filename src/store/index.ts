/** The local content-addressed store: public surface. */
export type { ImageRecord } from "./images.js";
export { defaultStoreDir } from "./layout.js";
export type { LockTimings } from "./locks.js";
export { isDigestSpec, matchDigest, matchDigests } from "./resolve.js";
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
export { type StoreUsage, storeUsage, type UsageEntry } from "./usage.js";
export type { VerifyProblem, VerifyReport } from "./verify.js";
