/**
 * The TOC entry type of a tar typeflag, shared by both TOC formats (zstd:chunked and eStargz
 * use the same names). Other typeflags (PAX global, GNU sparse, ...) have no TOC type.
 */
export type TocTypeName = "reg" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo";

const BY_TYPEFLAG: Record<string, TocTypeName> = {
  "0": "reg",
  "\0": "reg",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

export function tocTypeOf(typeflag: string): TocTypeName | undefined {
  return BY_TYPEFLAG[typeflag];
}
