/**
 * Where things live in a store directory. The filesystem is the index: every lookup is one
 * path computed from a digest, fanned out over 256 directories by the first two hex digits.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { algorithmOf, type Digest, hexOf, parseDigest } from "../digest.js";

export const STORE_VERSION = "chunkpull-store 1";

/** `$XDG_CACHE_HOME/chunkpull`, else `~/.cache/chunkpull`. */
export function defaultStoreDir(): string {
  const xdg = process.env["XDG_CACHE_HOME"];
  return join(xdg?.startsWith("/") ? xdg : join(homedir(), ".cache"), "chunkpull");
}

export class StoreLayout {
  constructor(readonly root: string) {}

  get objectsDir(): string {
    return join(this.root, "objects");
  }
  get chunksDir(): string {
    return join(this.root, "chunks");
  }
  get layersDir(): string {
    return join(this.root, "layers");
  }
  get tmpDir(): string {
    return join(this.root, "tmp");
  }
  get pullsDir(): string {
    return join(this.root, "pulls");
  }
  get imagesDir(): string {
    return join(this.root, "images");
  }
  get gcLock(): string {
    return join(this.root, "gc.lock");
  }
  get versionFile(): string {
    return join(this.root, "VERSION");
  }

  object(d: Digest): string {
    return fanOut(this.objectsDir, d);
  }
  chunk(d: Digest): string {
    return fanOut(this.chunksDir, d);
  }
  layerDir(diffId: Digest): string {
    return fanOut(this.layersDir, diffId);
  }
}

function fanOut(base: string, d: Digest): string {
  const hex = hexOf(d);
  return join(base, algorithmOf(d), hex.slice(0, 2), hex.slice(2));
}

/** Inverse of fanOut for directory walks: `<algo>/<hh>/<rest>` back to a digest, if valid. */
export function digestFromParts(algo: string, hh: string, rest: string): Digest | undefined {
  if (hh.length !== 2) return undefined;
  try {
    return parseDigest(`${algo}:${hh}${rest}`);
  } catch {
    return undefined;
  }
}
