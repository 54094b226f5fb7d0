/** Shared fixtures for the eStargz tests: reference vectors and an in-memory RangeSource. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ByteRange, RangeSource } from "../../src/formats/layer-index.js";

/** dist/test/estargz -> <repo>/test/fixtures/vectors */
export const VECTORS = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../../test/fixtures/vectors",
);

export interface BlobInfo {
  blob_digest: string;
  blob_size: number;
  layer_diff_id: string;
  layer_uncompressed_size: number;
  toc_digest: string;
  annotations: Record<string, string>;
}

export const CASES: string[] = Object.keys(
  (JSON.parse(readFileSync(join(VECTORS, "INDEX.json"), "utf8")) as { cases: object }).cases,
).sort();

export function hasVector(name: string, format: string): boolean {
  try {
    readFileSync(join(VECTORS, name, `${format}.info.json`));
    return true;
  } catch {
    return false;
  }
}

export function vector(name: string, format: string): { blob: Buffer; info: BlobInfo } {
  const blob = readFileSync(join(VECTORS, name, `${format}.blob`));
  const info = JSON.parse(readFileSync(join(VECTORS, name, `${format}.info.json`), "utf8"));
  return {
    blob,
    info: { ...info, annotations: info.annotations ?? readAnnotations(name, format) },
  };
}

function readAnnotations(name: string, format: string): Record<string, string> {
  return JSON.parse(readFileSync(join(VECTORS, name, `${format}.annotations.json`), "utf8"));
}

export function vectorFile(name: string, file: string): Buffer {
  return readFileSync(join(VECTORS, name, file));
}

/** A RangeSource over a buffer that records every range read. */
export function memorySource(blob: Buffer): RangeSource & { reads: ByteRange[] } {
  const reads: ByteRange[] = [];
  return {
    size: blob.length,
    reads,
    async read(ranges) {
      return ranges.map((r) => {
        reads.push(r);
        if (r.offset < 0 || r.offset + r.length > blob.length) {
          throw new RangeError(`range [${r.offset}, +${r.length}) outside blob of ${blob.length}`);
        }
        return Buffer.from(blob.subarray(r.offset, r.offset + r.length));
      });
    },
  };
}
