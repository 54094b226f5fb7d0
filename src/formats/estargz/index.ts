export {
  ESTARGZ_FOOTER_SIZE,
  type EstargzFooter,
  encodeEstargzFooter,
  isExternalTocFooter,
  LEGACY_FOOTER_SIZE,
  parseEstargzFooter,
} from "./footer.js";
export {
  DEFAULT_MAX_TOC_SIZE,
  type EstargzLayer,
  type OpenEstargzOptions,
  openEstargz,
  TOC_DIGEST_ANNOTATION,
  UNCOMPRESSED_SIZE_ANNOTATION,
} from "./reader.js";
export {
  type MemberPlan,
  planMembers,
  rebuildEstargzTar,
  rebuildEstargzZstdTar,
  rebuildFromMembers,
} from "./rebuild.js";
export { parseToc, type Toc, type TocEntry } from "./toc.js";
export { encodeTocJson } from "./toc-encode.js";
export {
  type ConvertToEstargzOptions,
  convertToEstargz,
  DEFAULT_CHUNK_SIZE,
  type EstargzConversion,
} from "./writer.js";
export {
  type EstargzZstdFooter,
  type EstargzZstdLayer,
  openEstargzZstd,
  parseEstargzZstdFooter,
} from "./zstd-flavour.js";
