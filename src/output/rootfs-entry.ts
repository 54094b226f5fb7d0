/**
 * One tar entry applied to a rootfs: whiteouts, directories, regular files (from the store's
 * object or from the tar's data), symlinks, hard links, device nodes and fifos, with what stood
 * at the name removed first (an existing directory stays when a directory replaces it, as tar
 * and umoci do). Every name goes through rootfs-path.ts first.
 */

import { once } from "node:events";
import { constants, createWriteStream, type WriteStream } from "node:fs";
import { chmod, copyFile, link, lstat, mkdir, readdir, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { UnsupportedError } from "../errors.js";
import type { TarHeader } from "../formats/tar/types.js";
import { applyOwnerModeXattrs, applyTimes, isRoot, makeNode, seconds } from "./rootfs-meta.js";
import { confine, entryComponents, UnsafePathError } from "./rootfs-path.js";

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

export interface RootfsCounters {
  entries: number;
  filesFromStore: number;
  whiteouts: number;
  devicesSkipped: number;
}

export interface LayerState {
  /** Paths this layer created (an opaque marker keeps them). */
  created: Set<string>;
  /** Directory -> [atime, mtime] to set when the layer is done (children change mtimes). */
  dirTimes: Map<string, [number, number]>;
  /**
   * Without root, a directory the owner cannot write (0555...) would refuse its own children:
   * it stays owner-writable while the layer is applied and gets its mode when the layer is done.
   */
  dirModes: Map<string, number>;
}

/** A regular file written from the tar's data; its metadata is set once the data is complete. */
export interface PendingFile {
  out: WriteStream;
  path: string;
  header: TarHeader;
}

/** Metadata only after the data: a write drops security.capability (and setuid without root). */
export async function finishFile(f: PendingFile): Promise<void> {
  f.out.end();
  await once(f.out, "finish");
  await applyMetadata(f.path, f.header, undefined);
}

async function applyMetadata(
  path: string,
  h: TarHeader,
  state: LayerState | undefined,
): Promise<void> {
  await applyOwnerModeXattrs(path, h);
  if (h.typeflag === "5" && state && !isRoot() && (h.mode & 0o700) !== 0o700) {
    await chmod(path, (h.mode & 0o7777) | 0o700);
    state.dirModes.set(path, h.mode & 0o7777);
  }
  const mtime = seconds(h.mtime);
  const atime = h.atime ? seconds(h.atime) : mtime;
  if (h.typeflag === "5" && state) state.dirTimes.set(path, [atime, mtime]);
  else await applyTimes(path, atime, mtime);
}

/** Remember a directory's times before this layer changes its entries, to put them back. */
async function touchDir(state: LayerState, dir: string): Promise<void> {
  if (state.dirTimes.has(dir)) return;
  const st = await lstat(dir);
  state.dirTimes.set(dir, [st.atimeMs / 1000, st.mtimeMs / 1000]);
  if (!isRoot() && (st.mode & 0o700) !== 0o700 && !state.dirModes.has(dir)) {
    state.dirModes.set(dir, st.mode & 0o7777);
    await chmod(dir, (st.mode & 0o7777) | 0o700);
  }
}

/** Removes what stands at `path` (recursively for a directory), never following a symlink. */
async function removeExisting(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Applies one entry; returns the file its data goes to when the data must be written. */
export async function applyEntry(
  root: string,
  h: TarHeader,
  objectFor: ((name: string, size: number) => string | undefined) | undefined,
  state: LayerState,
  counters: RootfsCounters,
): Promise<PendingFile | undefined> {
  if (h.typeflag === "g") return undefined; // PAX global header: no file
  if (h.sparse) throw new UnsupportedError(`tar entry ${JSON.stringify(h.name)}: sparse files`);
  const components = entryComponents(h.name);
  if (components.length === 0) return undefined; // the root itself: DIR keeps its own metadata
  const base = components[components.length - 1]!;
  const target = await confine(root, components, h.name, true);
  for (const d of target.created) state.created.add(d);
  await touchDir(state, target.parent);

  if (base === OPAQUE) {
    counters.whiteouts++;
    for (const child of await readdir(target.parent)) {
      const p = join(target.parent, child);
      if (!state.created.has(p)) await removeExisting(p);
    }
    return undefined;
  }
  if (base.startsWith(WHITEOUT)) {
    const victim = base.slice(WHITEOUT.length);
    // ".wh." would name the directory itself and ".wh..." its parent: both out of bounds.
    if (victim === "" || victim === "." || victim === "..")
      throw new UnsafePathError(h.name, "whiteout that names no entry");
    counters.whiteouts++;
    await removeExisting(join(target.parent, victim));
    return undefined;
  }

  const path = target.path;
  const existing = await lstat(path).catch(() => undefined);
  const keepDir = h.typeflag === "5" && existing?.isDirectory() === true;
  if (existing && !keepDir) await removeExisting(path);
  state.created.add(path);

  switch (h.typeflag) {
    case "5":
      if (!keepDir) await mkdir(path, { mode: 0o700 });
      break;
    case "0":
    case "7": {
      let object = h.size > 0 ? objectFor?.(h.name, h.size) : undefined;
      // Only a plain file of the right size (a planted symlink is not followed): otherwise the
      // bytes come from the tar, which is checked against the diff_id anyway.
      const st = object ? await lstat(object).catch(() => undefined) : undefined;
      if (!st?.isFile() || st.size !== h.size) object = undefined;
      if (!object) {
        // O_CREAT|O_EXCL: fails on anything at the name, a symlink included (never followed).
        const out = createWriteStream(path, { flags: "wx", mode: 0o600 });
        await once(out, "open");
        return { out, path, header: h };
      }
      await copyFile(object, path, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      counters.filesFromStore++;
      break;
    }
    case "2":
      await symlink(h.linkname, path);
      break;
    case "1": {
      const what = `${h.name} -> ${h.linkname}`;
      const linkComponents = entryComponents(h.linkname, what);
      if (linkComponents.length === 0) throw new UnsafePathError(what, "hard link to the root");
      const src = await confine(root, linkComponents, what, false);
      const st = await lstat(src.path).catch(() => undefined);
      if (!st) throw new UnsafePathError(what, "hard link target does not exist");
      if (st.isDirectory()) throw new UnsafePathError(what, "hard link to a directory");
      await link(src.path, path);
      return undefined; // shares the target's inode and metadata
    }
    case "3":
    case "4":
    case "6":
      if (h.typeflag !== "6" && !isRoot()) {
        counters.devicesSkipped++;
        state.created.delete(path);
        return undefined;
      }
      await makeNode(path, h);
      break;
    default:
      throw new UnsupportedError(
        `tar entry ${JSON.stringify(h.name)}: type ${JSON.stringify(h.typeflag)} cannot be extracted`,
      );
  }
  await applyMetadata(path, h, state);
  return undefined;
}
