export { assembleTar, type FileGetter, tarSizeFromTarSplit } from "./assemble.js";
export { TarSplitBuilder } from "./builder.js";
export { Crc64, crc64 } from "./crc64.js";
export { encodeEntry, entryName, entryNameBytes, type TarSplitEntry } from "./entry.js";
export { iterateHeaders } from "./headers.js";
export { readTarSplit } from "./reader.js";
