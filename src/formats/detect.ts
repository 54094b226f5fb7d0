/**
 * THE format rule: which chunked format a layer is, decided from its descriptor annotations
 * (authoritative: they are covered by the manifest digest) and cross-checked against the blob's
 * footer. Every caller (pull, inspect, convert, CLI) goes through here so a layer can never be
 * read as one format in one place and as another elsewhere.
 *
 * Annotation rule (spec zstd-chunked.md §2.2, estargz.md §4):
 *  - `io.github.containers.zstd-chunked.manifest-checksum` present -> zstd:chunked.
 *  - `containerd.io/snapshot/stargz/toc.digest` present -> eStargz. When it comes with the legacy
 *    `io.containers.zstd-chunked.*` keys (or on a `+zstd` media type) it is stargz-snapshotter's
 *    zstd flavour ("estargz-zstd"): that converter writes all of them by design, so this is NOT
 *    ambiguous, and the legacy checksum there is not a c/storage TOC digest.
 *  - only the legacy `io.containers.zstd-chunked.*` keys -> zstd:chunked as written by
 *    c/storage <= 1.43 (`legacyZstdKeys`; current c/storage ignores these and pulls fully).
 *  - both the zstd:chunked key and the eStargz key -> ambiguous: nothing guarantees the two TOCs
 *    agree. c/storage's differ checked the zstd:chunked key first (before f435ce84a, §2.2
 *    history item 2) and that is the key we take, flagging `ambiguous`; since c/storage v1.53 both
 *    its differ and GetTOCDigest refuse such layers outright, which is what `strict` does.
 * Presence is tested with hasOwn, like Go's map lookup: an empty value counts and then fails
 * digest parsing (a hard error, as in c/storage).
 */
import { type Digest, parseDigest } from "../digest.js";
import { FormatError } from "../errors.js";
import {
  ESTARGZ_FOOTER_SIZE,
  isExternalTocFooter,
  LEGACY_FOOTER_SIZE,
  parseEstargzFooter,
} from "./estargz/footer.js";
import type { ChunkedFormat } from "./layer-index.js";
import { SKIPPABLE_MAGIC } from "./zstd.js";
import {
  ESTARGZ_TOC_DIGEST_KEY,
  LEGACY_MANIFEST_CHECKSUM_KEY,
  LEGACY_MANIFEST_POSITION_KEY,
  MANIFEST_CHECKSUM_KEY,
} from "./zstdchunked/annotations.js";

export interface AnnotationDetection {
  format: "zstd:chunked" | "estargz" | "none";
  /** The digest that authenticates the TOC, from the key that was taken. */
  tocDigest?: Digest;
  /** Both the zstd:chunked and the eStargz TOC keys are present (the zstd:chunked one was taken). */
  ambiguous: boolean;
  /** The pre-v1.44 `io.containers.zstd-chunked.*` keys are present. */
  legacyZstdKeys?: boolean;
  /** The reader to use; "estargz-zstd" for stargz-snapshotter's zstd flavour. Absent for "none". */
  layerFormat?: ChunkedFormat;
}

export interface DetectOptions {
  /** Reject layers carrying both TOC keys (c/storage >= v1.53 behaviour). */
  strict?: boolean;
  /** The layer descriptor's media type: eStargz TOC digest on a `+zstd` layer = estargz-zstd. */
  mediaType?: string;
}

export function detectFromAnnotations(
  a: Record<string, string> | undefined,
  opts: DetectOptions = {},
): AnnotationDetection {
  const has = (k: string): boolean => a !== undefined && Object.hasOwn(a, k);
  const zstd = has(MANIFEST_CHECKSUM_KEY);
  const stargz = has(ESTARGZ_TOC_DIGEST_KEY);
  const legacy = has(LEGACY_MANIFEST_CHECKSUM_KEY) || has(LEGACY_MANIFEST_POSITION_KEY);
  const withLegacy = <T extends AnnotationDetection>(d: T): T =>
    legacy ? { ...d, legacyZstdKeys: true } : d;
  const value = (k: string): Digest => parseDigest(a?.[k], `annotation ${k}`);

  if (zstd && stargz) {
    if (opts.strict) {
      throw new FormatError(
        `both zstd:chunked and eStargz TOC found (annotations ${MANIFEST_CHECKSUM_KEY} and ${ESTARGZ_TOC_DIGEST_KEY})`,
      );
    }
    return withLegacy({
      format: "zstd:chunked",
      tocDigest: value(MANIFEST_CHECKSUM_KEY),
      ambiguous: true,
      layerFormat: "zstd:chunked",
    });
  }
  if (zstd) {
    return withLegacy({
      format: "zstd:chunked",
      tocDigest: value(MANIFEST_CHECKSUM_KEY),
      ambiguous: false,
      layerFormat: "zstd:chunked",
    });
  }
  if (stargz) {
    const zstdMedia = opts.mediaType !== undefined && /\+zstd$/.test(opts.mediaType);
    return withLegacy({
      format: "estargz",
      tocDigest: value(ESTARGZ_TOC_DIGEST_KEY),
      ambiguous: false,
      layerFormat: legacy || zstdMedia ? "estargz-zstd" : "estargz",
    });
  }
  if (has(LEGACY_MANIFEST_CHECKSUM_KEY)) {
    return {
      format: "zstd:chunked",
      tocDigest: value(LEGACY_MANIFEST_CHECKSUM_KEY),
      ambiguous: false,
      legacyZstdKeys: true,
      layerFormat: "zstd:chunked",
    };
  }
  return withLegacy({ format: "none", ambiguous: false });
}

/** Bytes from the end of a blob that `detectFromTail` needs to see every known footer. */
export const FORMAT_TAIL_SIZE = 72;

export type TailDetection =
  | {
      format: "zstd:chunked";
      variant: "A" | "B" | "C";
      /** Footer payload size (40/56/64), without its 8-byte skippable header. */
      footerSize: number;
      /** Variant A's 40-byte `GnUlInUx` footer is also stargz-snapshotter's zstd flavour footer. */
      alsoEstargzZstd: boolean;
    }
  | { format: "estargz"; footerSize: 51 | 47; tocOffset: number }
  | { format: "estargz-external-toc"; footerSize: 46 }
  | { format: "none" };

const MAGIC_V1 = Buffer.from("GnUlInUx", "latin1");
const MAGIC_V2 = Buffer.from("GNUlInUx", "latin1");

/** What the footer of a blob says. `tail` = the last min(FORMAT_TAIL_SIZE, blobSize) bytes or more. */
export function detectFromTail(tail: Buffer, blobSize: number): TailDetection {
  const n = Math.min(tail.length, blobSize);
  const t = tail.subarray(tail.length - n);
  const frameHeaderAt = (payload: number): boolean => {
    const at = n - payload - 8;
    return at >= 0 && t.readUInt32LE(at) === SKIPPABLE_MAGIC && t.readUInt32LE(at + 4) === payload;
  };
  const last8 = t.subarray(Math.max(0, n - 8));
  if (frameHeaderAt(64) && last8.equals(MAGIC_V2)) {
    return { format: "zstd:chunked", variant: "C", footerSize: 64, alsoEstargzZstd: false };
  }
  if (
    frameHeaderAt(56) &&
    t.subarray(n - 24, n - 16).equals(MAGIC_V1) &&
    t.subarray(n - 16).every((b) => b === 0)
  ) {
    return { format: "zstd:chunked", variant: "B", footerSize: 56, alsoEstargzZstd: false };
  }
  if (frameHeaderAt(40) && last8.equals(MAGIC_V1)) {
    return { format: "zstd:chunked", variant: "A", footerSize: 40, alsoEstargzZstd: true };
  }
  if (n >= LEGACY_FOOTER_SIZE) {
    try {
      const f = parseEstargzFooter(t, blobSize);
      return {
        format: "estargz",
        footerSize: f.size === ESTARGZ_FOOTER_SIZE ? 51 : 47,
        tocOffset: f.tocOffset,
      };
    } catch {
      // not an eStargz footer: fall through
    }
  }
  if (isExternalTocFooter(t)) return { format: "estargz-external-toc", footerSize: 46 };
  return { format: "none" };
}

/**
 * Combine both sources: the annotations choose the format, the footer must agree with it.
 * Returns undefined for layers without a chunked-format annotation (ordinary full pull).
 */
export function resolveLayerFormat(
  annotations: AnnotationDetection,
  tail: TailDetection,
): ChunkedFormat | undefined {
  const want = annotations.layerFormat;
  if (!want) return undefined;
  const ok =
    (want === "zstd:chunked" && tail.format === "zstd:chunked") ||
    (want === "estargz" && tail.format === "estargz") ||
    (want === "estargz-zstd" && tail.format === "zstd:chunked" && tail.alsoEstargzZstd);
  if (ok) return want;
  // A `+zstd` media type is only a hint: a gzip footer under the stargz key is plain eStargz.
  if (want === "estargz-zstd" && tail.format === "estargz" && !annotations.legacyZstdKeys) {
    return "estargz";
  }
  const saw = tail.format === "zstd:chunked" ? `zstd:chunked variant ${tail.variant}` : tail.format;
  throw new FormatError(`layer annotations say ${want} but the blob footer says ${saw}`);
}
