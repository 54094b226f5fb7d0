export { readTar } from "./reader.js";
export type { TarEvent, TarHeader, TarTime } from "./types.js";
export { END_OF_ARCHIVE, encodeTarHeader, type TarHeaderInit, tarPadding } from "./writer.js";
