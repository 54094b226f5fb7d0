export { readTar } from "./reader.js";
export type { TarEvent, TarHeader, TarTime } from "./types.js";
