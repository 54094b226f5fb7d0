/**
 * The OCI layer-descriptor annotations of zstd:chunked (spec §2): where the TOC and tar-split live
 * in the blob and the digest that authenticates the TOC. Positions are parsed strictly: Go's
 * Sscanf("%d:%d:%d:%d") is laxer (trailing garbage, signs), but nothing legitimate needs that.
 */
import { type Digest, parseDigest } from "../../digest.js";
import { FormatError } from "../../errors.js";

const CURRENT_PREFIX = "io.github.containers.zstd-chunked.";
const LEGACY_PREFIX = "io.containers.zstd-chunked.";

/** Digest of the compressed TOC (skippable frame #1 payload). */
export const MANIFEST_CHECKSUM_KEY = `${CURRENT_PREFIX}manifest-checksum`;
/** `<offset>:<length>:<uncompressedLength>:1` of the TOC payload. */
export const MANIFEST_POSITION_KEY = `${CURRENT_PREFIX}manifest-position`;
/** `<offset>:<length>:<uncompressedLength>` of the tar-split payload. */
export const TARSPLIT_POSITION_KEY = `${CURRENT_PREFIX}tarsplit-position`;
/** Deprecated (c/storage v1.47-v1.53): digest of the compressed tar-split. */
export const TARSPLIT_CHECKSUM_KEY = `${CURRENT_PREFIX}tarsplit-checksum`;
/** Keys written by c/storage <= 1.43 (and by stargz-snapshotter's zstdchunked converter). */
export const LEGACY_MANIFEST_CHECKSUM_KEY = `${LEGACY_PREFIX}manifest-checksum`;
export const LEGACY_MANIFEST_POSITION_KEY = `${LEGACY_PREFIX}manifest-position`;
/** The eStargz TOC digest annotation; never emitted together with ours (spec §2.2). */
export const ESTARGZ_TOC_DIGEST_KEY = "containerd.io/snapshot/stargz/toc.digest";

/** Every key that becomes false when a blob is recompressed (container-libs ChunkedAnnotations). */
export const CHUNKED_ANNOTATION_KEYS: readonly string[] = [
  MANIFEST_CHECKSUM_KEY,
  MANIFEST_POSITION_KEY,
  TARSPLIT_POSITION_KEY,
  TARSPLIT_CHECKSUM_KEY,
  ESTARGZ_TOC_DIGEST_KEY,
];

/** A payload inside the blob: offset of the frame payload (after the 8-byte skippable header). */
export interface MetadataPosition {
  offset: number;
  length: number;
  uncompressedLength: number;
}

export interface ZstdChunkedAnnotations {
  tocDigest: Digest;
  toc: MetadataPosition;
  tarSplit?: MetadataPosition;
  /** The deprecated `tarsplit-checksum` value, when present (only v1.47-v1.53 readers use it). */
  tarSplitChecksum?: Digest;
  /** True when only the pre-v1.44 `io.containers.zstd-chunked.*` keys were found. */
  legacyKeys: boolean;
}

const UINT_RE = /^[0-9]+$/;

function parseUint(text: string, key: string, field: string): number {
  if (!UINT_RE.test(text)) {
    throw new FormatError(`annotation ${key}: ${field} ${JSON.stringify(text)} is not a decimal`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new FormatError(`annotation ${key}: ${field} ${text} exceeds 2^53`);
  }
  return value;
}

function parsePosition(value: string, key: string, withType: boolean): MetadataPosition {
  const parts = value.split(":");
  const expected = withType ? 4 : 3;
  if (parts.length !== expected) {
    throw new FormatError(
      `annotation ${key}: expected ${expected} colon-separated numbers, got ${JSON.stringify(value)}`,
    );
  }
  const offset = parseUint(parts[0]!, key, "offset");
  const length = parseUint(parts[1]!, key, "length");
  const uncompressedLength = parseUint(parts[2]!, key, "uncompressed length");
  if (withType) {
    const type = parseUint(parts[3]!, key, "manifest type");
    if (type !== 1) throw new FormatError(`annotation ${key}: manifest type ${type}, expected 1`);
  }
  return { offset, length, uncompressedLength };
}

/**
 * Read the zstd:chunked annotations of a layer descriptor. Returns undefined when the layer
 * carries no zstd:chunked TOC key at all. The current keys win; the legacy keys are used only
 * when no current key is present (`legacyKeys: true`; c/storage >= 1.44 ignores them).
 * Carrying both our key and the eStargz key is ambiguous and rejected (spec §2.2, P8).
 */
export function parseZstdChunkedAnnotations(
  a: Record<string, string>,
): ZstdChunkedAnnotations | undefined {
  const has = (k: string) => Object.hasOwn(a, k);
  if (has(MANIFEST_CHECKSUM_KEY)) {
    if (has(ESTARGZ_TOC_DIGEST_KEY)) {
      throw new FormatError("both zstd:chunked and eStargz TOC annotations found");
    }
    const tocDigest = parseDigest(a[MANIFEST_CHECKSUM_KEY], MANIFEST_CHECKSUM_KEY);
    const pos = a[MANIFEST_POSITION_KEY];
    if (pos === undefined) throw new FormatError(`annotation ${MANIFEST_POSITION_KEY} missing`);
    const result: ZstdChunkedAnnotations = {
      tocDigest,
      toc: parsePosition(pos, MANIFEST_POSITION_KEY, true),
      legacyKeys: false,
    };
    const ts = a[TARSPLIT_POSITION_KEY];
    if (ts !== undefined) result.tarSplit = parsePosition(ts, TARSPLIT_POSITION_KEY, false);
    const tsSum = a[TARSPLIT_CHECKSUM_KEY];
    if (tsSum !== undefined) result.tarSplitChecksum = parseDigest(tsSum, TARSPLIT_CHECKSUM_KEY);
    return result;
  }
  // Legacy keys next to the eStargz key are stargz-snapshotter's "zstdchunked" layout (eStargz
  // TOC inside zstd): not ours, the estargz-zstd reader owns it.
  if (has(LEGACY_MANIFEST_CHECKSUM_KEY) && !has(ESTARGZ_TOC_DIGEST_KEY)) {
    const tocDigest = parseDigest(a[LEGACY_MANIFEST_CHECKSUM_KEY], LEGACY_MANIFEST_CHECKSUM_KEY);
    const pos = a[LEGACY_MANIFEST_POSITION_KEY];
    if (pos === undefined) {
      throw new FormatError(`annotation ${LEGACY_MANIFEST_POSITION_KEY} missing`);
    }
    return {
      tocDigest,
      toc: parsePosition(pos, LEGACY_MANIFEST_POSITION_KEY, true),
      legacyKeys: true,
    };
  }
  return undefined;
}

export interface ZstdChunkedAnnotationInput {
  tocDigest: Digest;
  toc: MetadataPosition;
  tarSplit: MetadataPosition;
  /** Also emit the deprecated tarsplit-checksum (for c/storage v1.47-v1.53 readers, P28). */
  tarSplitChecksum?: Digest;
}

/** The annotations a writer puts on the layer descriptor (current keys only, spec §7.1.6). */
export function zstdChunkedAnnotations(input: ZstdChunkedAnnotationInput): Record<string, string> {
  const { toc, tarSplit } = input;
  const out: Record<string, string> = {
    [MANIFEST_CHECKSUM_KEY]: input.tocDigest,
    [MANIFEST_POSITION_KEY]: `${toc.offset}:${toc.length}:${toc.uncompressedLength}:1`,
    [TARSPLIT_POSITION_KEY]: `${tarSplit.offset}:${tarSplit.length}:${tarSplit.uncompressedLength}`,
  };
  if (input.tarSplitChecksum !== undefined) out[TARSPLIT_CHECKSUM_KEY] = input.tarSplitChecksum;
  return out;
}
