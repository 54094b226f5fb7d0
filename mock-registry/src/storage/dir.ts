/**
 * Directory storage, laid out like distribution's filesystem driver (simplified):
 *   blobs/<alg>/<hex>                                   content
 *   uploads/<uuid>                                      in-progress uploads (same filesystem)
 *   repositories/<repo>/_layers/<alg>/<hex>             empty link files
 *   repositories/<repo>/_manifests/revisions/<alg>/<hex> media type
 *   repositories/<repo>/_manifests/tags/<tag>           digest
 * Every publication is write-to-temp then rename, so a crash never leaves a partial file under
 * a content address. Names reaching this class were validated by the router (no `..`).
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { algorithmOf, createHasher, type Digest } from "../../../src/digest.js";
import { byteOrder, type RegistryStorage, type UploadSession } from "./types.js";

function digestPath(digest: string): string {
  const colon = digest.indexOf(":");
  return join(digest.slice(0, colon), digest.slice(colon + 1));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

export class DirStorage implements RegistryStorage {
  readonly root: string;
  #tempSeq = 0;

  constructor(root: string) {
    this.root = root;
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, "blobs"), { recursive: true });
    await mkdir(join(this.root, "uploads"), { recursive: true });
    await mkdir(join(this.root, "repositories"), { recursive: true });
  }

  #blob(digest: string): string {
    return join(this.root, "blobs", digestPath(digest));
  }

  #repoDir(repo: string): string {
    return join(this.root, "repositories", repo);
  }

  /** Write a small file atomically: temp file in uploads/, then rename into place. */
  async #atomicWrite(path: string, data: string): Promise<void> {
    const temp = join(this.root, "uploads", `meta-${process.pid}-${++this.#tempSeq}`);
    await writeFile(temp, data);
    await mkdir(join(path, ".."), { recursive: true });
    await rename(temp, path);
  }

  async blobSize(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.#blob(digest))).size;
    } catch {
      return undefined;
    }
  }

  openBlob(digest: string, start: number, end: number): Readable {
    // createReadStream's `end` is inclusive; an empty range must read nothing.
    if (end <= start) return createReadStream(this.#blob(digest), { start: 0, end: -1 });
    return createReadStream(this.#blob(digest), { start, end: end - 1 });
  }

  async readSmallBlob(digest: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#blob(digest));
    } catch {
      return undefined;
    }
  }

  async newUpload(repo: string): Promise<UploadSession> {
    const id = randomUUID();
    const temp = join(this.root, "uploads", id);
    const handle = await open(temp, "w");
    const sha256 = createHasher("sha256");
    let size = 0;
    let closed = false;
    const closeHandle = async () => {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    };
    const blobPath = (d: string) => this.#blob(d);
    return {
      id,
      repo,
      get size() {
        return size;
      },
      async write(chunk) {
        await handle.write(chunk);
        sha256.update(chunk);
        size += chunk.length;
      },
      async commit(expected) {
        await handle.sync();
        await closeHandle();
        const algo = algorithmOf(expected as Digest);
        let actual: string;
        if (algo === "sha256") {
          actual = sha256.digest();
        } else {
          const h = createHasher(algo);
          for await (const c of createReadStream(temp)) h.update(c as Buffer);
          actual = h.digest();
        }
        if (actual !== expected) {
          await rm(temp, { force: true });
          return { ok: false, actual };
        }
        const dest = blobPath(expected);
        if (await exists(dest)) {
          await rm(temp, { force: true });
        } else {
          await mkdir(join(dest, ".."), { recursive: true });
          await rename(temp, dest);
        }
        return { ok: true };
      },
      async abort() {
        await closeHandle();
        await rm(temp, { force: true });
      },
    };
  }

  async repoExists(repo: string): Promise<boolean> {
    const dir = this.#repoDir(repo);
    return (await exists(join(dir, "_layers"))) || (await exists(join(dir, "_manifests")));
  }

  async listRepos(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries: string[];
      try {
        entries = await readdir(join(this.root, "repositories", rel));
      } catch {
        return;
      }
      if (entries.includes("_layers") || entries.includes("_manifests")) found.push(rel);
      for (const e of entries) if (!e.startsWith("_")) await walk(rel ? `${rel}/${e}` : e);
    };
    await walk("");
    return found.sort(byteOrder);
  }

  async linkBlob(repo: string, digest: string): Promise<void> {
    const path = join(this.#repoDir(repo), "_layers", digestPath(digest));
    if (!(await exists(path))) await this.#atomicWrite(path, "");
  }

  async isLinked(repo: string, digest: string): Promise<boolean> {
    return exists(join(this.#repoDir(repo), "_layers", digestPath(digest)));
  }

  async unlinkBlob(repo: string, digest: string): Promise<boolean> {
    const path = join(this.#repoDir(repo), "_layers", digestPath(digest));
    if (!(await exists(path))) return false;
    await rm(path, { force: true });
    return true;
  }

  #revision(repo: string, digest: string): string {
    return join(this.#repoDir(repo), "_manifests", "revisions", digestPath(digest));
  }

  #tag(repo: string, tag: string): string {
    return join(this.#repoDir(repo), "_manifests", "tags", tag);
  }

  async putManifest(repo: string, digest: string, mediaType: string): Promise<void> {
    await this.#atomicWrite(this.#revision(repo, digest), mediaType);
  }

  async manifestType(repo: string, digest: string): Promise<string | undefined> {
    return readText(this.#revision(repo, digest));
  }

  async deleteManifest(repo: string, digest: string): Promise<boolean> {
    const path = this.#revision(repo, digest);
    if (!(await exists(path))) return false;
    await rm(path, { force: true });
    for (const tag of await this.listTags(repo)) {
      if ((await this.getTag(repo, tag)) === digest) await this.deleteTag(repo, tag);
    }
    return true;
  }

  async setTag(repo: string, tag: string, digest: string): Promise<void> {
    await this.#atomicWrite(this.#tag(repo, tag), digest);
  }

  async getTag(repo: string, tag: string): Promise<string | undefined> {
    return readText(this.#tag(repo, tag));
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    const path = this.#tag(repo, tag);
    if (!(await exists(path))) return false;
    await rm(path, { force: true });
    return true;
  }

  async listTags(repo: string): Promise<string[]> {
    try {
      return (await readdir(join(this.#repoDir(repo), "_manifests", "tags"))).sort(byteOrder);
    } catch {
      return [];
    }
  }

  async close(): Promise<void> {}
}
