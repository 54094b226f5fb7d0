export * from "./media-types.js";
export * from "./platform.js";
export type * from "./types.js";
export * from "./validate.js";
