/** Public entry of the mock registry (see README.md for the behaviour modes and stats). */
export { DEFAULT_MODES } from "./modes.js";
export { startMockRegistry } from "./server.js";
export type {
  AccessRule,
  AuthOptions,
  BehaviourModes,
  BlobStats,
  MockRegistry,
  MockRegistryOptions,
  MockStats,
  MultiRangeMode,
  RequestRecord,
  ServerErrorMode,
  StorageOptions,
  TooManyRequestsMode,
} from "./types.js";
