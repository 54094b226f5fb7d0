/**
 * `--rootfs DIR`: an image's layers applied in order into a directory, the tree `umoci unpack`
 * (or containerd's applier) makes: overlay whiteouts `.wh.NAME` remove NAME, an opaque marker
 * `.wh..wh..opq` empties its directory of what lower layers put there, hard links, symlinks,
 * modes, owners, xattrs, device nodes (root only), and mtimes.
 *
 * Every layer comes in as its exact tar (the source of truth for headers: for a stored layer it
 * is checked against the diff_id as it streams). A regular file's bytes are taken from the
 * store's object when the caller can name one (`objectFor`): copyFile with COPYFILE_FICLONE,
 * which is a reflink on filesystems that share extents (btrfs, XFS) and a plain copy otherwise.
 * Never a hard link: the rootfs file's mode, owner and later edits would change the store.
 *
 * Names are confined to DIR by rootfs-path.ts; symlinks are never followed while extracting.
 */
import { once } from "node:events";
import { chmod, mkdir } from "node:fs/promises";
import type { Digest } from "../digest.js";
import { readTar } from "../formats/tar/reader.js";
import type { OutputImage } from "./image.js";
import { applyEntry, finishFile, type LayerState, type PendingFile } from "./rootfs-entry.js";
import { applyTimes } from "./rootfs-meta.js";

export interface RootfsLayer {
  /** For messages. */
  diffId?: Digest;
  /** The layer's exact tar. */
  tar: AsyncIterable<Uint8Array>;
  /** The path of a verified file with this entry's content, when there is one (the store). */
  objectFor?: (name: string, size: number) => string | undefined;
}

export interface RootfsResult {
  dir: string;
  layers: number;
  entries: number;
  /** Regular files copied (reflinked where the filesystem can) from the store. */
  filesFromStore: number;
  whiteouts: number;
  /** Device nodes not created because the process is not root. */
  devicesSkipped: number;
}

/** An image's layers, bottom first, each from its verified tar with the store's file objects. */
export function writeImageRootfs(dir: string, image: OutputImage): Promise<RootfsResult> {
  async function* layers(): AsyncGenerator<RootfsLayer> {
    for (const diffId of image.diffIds) {
      yield { diffId, tar: image.layerTar(diffId), objectFor: await image.fileObjects?.(diffId) };
    }
  }
  return writeRootfs(dir, layers());
}

export async function writeRootfs(
  dir: string,
  layers: Iterable<RootfsLayer> | AsyncIterable<RootfsLayer>,
): Promise<RootfsResult> {
  await mkdir(dir, { recursive: true });
  const result: RootfsResult = {
    dir,
    layers: 0,
    entries: 0,
    filesFromStore: 0,
    whiteouts: 0,
    devicesSkipped: 0,
  };
  for await (const layer of layers) {
    await applyLayer(dir, layer, result);
    result.layers++;
  }
  return result;
}

async function applyLayer(root: string, layer: RootfsLayer, result: RootfsResult): Promise<void> {
  const state: LayerState = { created: new Set(), dirTimes: new Map(), dirModes: new Map() };
  let pending: PendingFile | undefined;
  try {
    for await (const ev of readTar(layer.tar)) {
      if (ev.type === "data") {
        if (pending && !pending.out.write(ev.data)) await once(pending.out, "drain");
      } else if (ev.type === "entry") {
        if (pending) await finishFile(pending);
        result.entries++;
        pending = undefined;
        pending = await applyEntry(root, ev.header, layer.objectFor, state, result);
      }
    }
    if (pending) await finishFile(pending);
  } finally {
    pending?.out.destroy();
  }
  // A directory's times do not change its parent's so any order will do; times first,
  // while every directory is still searchable (chmod leaves them alone).
  for (const [path, [atime, mtime]] of state.dirTimes) {
    await applyTimes(path, atime, mtime).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err; // removed later in the same layer
    });
  }
  // Deepest first: a parent without search permission would hide its children.
  const modes = [...state.dirModes].sort((a, b) => b[0].length - a[0].length);
  for (const [path, mode] of modes) {
    await chmod(path, mode).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err; // removed later in the same layer
    });
  }
}
