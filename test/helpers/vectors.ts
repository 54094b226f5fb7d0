/** The reference vectors in test/fixtures/vectors (see its README.md) and their INDEX.json, for every test area. */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// dist/test/helpers -> repository root
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const VECTORS = join(ROOT, "test", "fixtures", "vectors");

export interface BlobInfo {
  file: string;
  blob_digest: string;
  blob_size: number;
  layer_diff_id: string;
  toc_digest: string;
  annotations: Record<string, string>;
}

export interface CaseInfo {
  input_diff_id: string;
  input_size: number;
  blobs: Record<string, BlobInfo>;
}

const index = JSON.parse(readFileSync(join(VECTORS, "INDEX.json"), "utf8")) as {
  cases: Record<string, CaseInfo>;
};

export const CASES: Record<string, CaseInfo> = index.cases;

export function casesWith(format: string): string[] {
  return Object.keys(CASES).filter((c) => CASES[c]!.blobs[format] !== undefined);
}

export function vectorPath(name: string, file: string): string {
  return join(VECTORS, name, file);
}

export function readVector(name: string, file: string): Buffer {
  return readFileSync(vectorPath(name, file));
}
