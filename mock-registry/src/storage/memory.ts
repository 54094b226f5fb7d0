/** In-memory storage: Maps of buffers; uploads are buffer lists until committed. */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { algorithmOf, createHasher, type Digest } from "../../../src/digest.js";
import { byteOrder, type RegistryStorage, type UploadSession } from "./types.js";

interface Repo {
  blobs: Set<string>;
  manifests: Map<string, string>;
  tags: Map<string, string>;
}

const READ_CHUNK = 64 * 1024;

export class MemoryStorage implements RegistryStorage {
  #blobs = new Map<string, Buffer>();
  #repos = new Map<string, Repo>();

  #repo(name: string): Repo {
    let r = this.#repos.get(name);
    if (!r) {
      r = { blobs: new Set(), manifests: new Map(), tags: new Map() };
      this.#repos.set(name, r);
    }
    return r;
  }

  async blobSize(digest: string): Promise<number | undefined> {
    return this.#blobs.get(digest)?.length;
  }

  openBlob(digest: string, start: number, end: number): Readable {
    const data = this.#blobs.get(digest);
    if (!data) throw new Error(`blob ${digest} not found`);
    return Readable.from(
      (function* () {
        for (let off = start; off < end; off += READ_CHUNK) {
          yield data.subarray(off, Math.min(end, off + READ_CHUNK));
        }
      })(),
    );
  }

  async readSmallBlob(digest: string): Promise<Buffer | undefined> {
    return this.#blobs.get(digest);
  }

  async newUpload(repo: string): Promise<UploadSession> {
    const chunks: Buffer[] = [];
    const sha256 = createHasher("sha256");
    let size = 0;
    const blobs = this.#blobs;
    return {
      id: randomUUID(),
      repo,
      get size() {
        return size;
      },
      async write(chunk) {
        const copy = Buffer.from(chunk);
        chunks.push(copy);
        sha256.update(copy);
        size += copy.length;
      },
      async commit(expected) {
        const algo = algorithmOf(expected as Digest);
        let actual: string;
        if (algo === "sha256") {
          actual = sha256.digest();
        } else {
          const h = createHasher(algo);
          for (const c of chunks) h.update(c);
          actual = h.digest();
        }
        if (actual !== expected) return { ok: false, actual };
        if (!blobs.has(expected)) blobs.set(expected, Buffer.concat(chunks));
        return { ok: true };
      },
      async abort() {
        chunks.length = 0;
      },
    };
  }

  async repoExists(repo: string): Promise<boolean> {
    const r = this.#repos.get(repo);
    return r !== undefined && (r.blobs.size > 0 || r.manifests.size > 0 || r.tags.size > 0);
  }

  async listRepos(): Promise<string[]> {
    const names: string[] = [];
    for (const name of this.#repos.keys()) if (await this.repoExists(name)) names.push(name);
    return names.sort(byteOrder);
  }

  async linkBlob(repo: string, digest: string): Promise<void> {
    this.#repo(repo).blobs.add(digest);
  }

  async isLinked(repo: string, digest: string): Promise<boolean> {
    return this.#repos.get(repo)?.blobs.has(digest) ?? false;
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    return this.#repos.get(repo)?.blobs.delete(digest) ?? false;
  }

  async putManifest(repo: string, digest: string, mediaType: string): Promise<void> {
    this.#repo(repo).manifests.set(digest, mediaType);
  }

  async manifestType(repo: string, digest: string): Promise<string | undefined> {
    return this.#repos.get(repo)?.manifests.get(digest);
  }

  async deleteManifest(repo: string, digest: string): Promise<boolean> {
    const r = this.#repos.get(repo);
    if (!r?.manifests.delete(digest)) return false;
    for (const [tag, d] of r.tags) if (d === digest) r.tags.delete(tag);
    return true;
  }

  async setTag(repo: string, tag: string, digest: string): Promise<void> {
    this.#repo(repo).tags.set(tag, digest);
  }

  async getTag(repo: string, tag: string): Promise<string | undefined> {
    return this.#repos.get(repo)?.tags.get(tag);
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    return this.#repos.get(repo)?.tags.delete(tag) ?? false;
  }

  async listTags(repo: string): Promise<string[]> {
    return [...(this.#repos.get(repo)?.tags.keys() ?? [])].sort(byteOrder);
  }

  async close(): Promise<void> {}
}
