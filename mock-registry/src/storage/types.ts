/**
 * What the registry needs from a store: content-addressed blobs (manifests are blobs too) plus
 * per-repository links, manifest media types and tags. Two implementations: memory and a
 * directory. Uploads go to a temporary area and become visible only after their digest checks.
 */
import type { Readable } from "node:stream";

export interface UploadSession {
  readonly id: string;
  readonly repo: string;
  /** Bytes received so far. */
  readonly size: number;
  /** Append bytes; the caller enforces size limits. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Verify the received bytes against `expected` and, on success, publish them as a blob
   * (atomically: a reader never sees a partial blob). Returns the actual digest on mismatch.
   */
  commit(expected: string): Promise<{ ok: true } | { ok: false; actual: string }>;
  abort(): Promise<void>;
}

export interface RegistryStorage {
  /** Size of a stored blob, or undefined when absent. */
  blobSize(digest: string): Promise<number | undefined>;
  /** Stream bytes [start, end) of a blob. */
  openBlob(digest: string, start: number, end: number): Readable;
  /** Whole small blob (manifests, configs). */
  readSmallBlob(digest: string): Promise<Buffer | undefined>;
  newUpload(repo: string): Promise<UploadSession>;

  repoExists(repo: string): Promise<boolean>;
  listRepos(): Promise<string[]>;
  linkBlob(repo: string, digest: string): Promise<void>;
  isLinked(repo: string, digest: string): Promise<boolean>;
  unlinkBlob(repo: string, digest: string): Promise<boolean>;

  /** Record a manifest revision (its bytes must already be a blob). */
  putManifest(repo: string, digest: string, mediaType: string): Promise<void>;
  manifestType(repo: string, digest: string): Promise<string | undefined>;
  deleteManifest(repo: string, digest: string): Promise<boolean>;
  setTag(repo: string, tag: string, digest: string): Promise<void>;
  getTag(repo: string, tag: string): Promise<string | undefined>;
  deleteTag(repo: string, tag: string): Promise<boolean>;
  /** Sorted lexically (byte order). */
  listTags(repo: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Byte-order comparison (what distribution's sorted listings use). */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
