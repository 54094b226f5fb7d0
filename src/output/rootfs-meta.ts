/**
 * Metadata of an extracted entry: owner, mode, xattrs, times, and device nodes. Node's fs has
 * neither mknod(2) nor setxattr(2), so those two go through the standard tools (`mknod` from
 * coreutils, `setfattr` from attr) on a path whose parent chain the caller already confined;
 * `setfattr -h` never follows a final symlink.
 */
import { execFile } from "node:child_process";
import { chmod, lchown, lutimes } from "node:fs/promises";
import { promisify } from "node:util";
import { UnsupportedError } from "../errors.js";
import type { TarHeader, TarTime } from "../formats/tar/types.js";

const run = promisify(execFile);

export const isRoot = (): boolean => process.getuid?.() === 0;

export function seconds(t: TarTime): number {
  return t.sec + t.nsec / 1e9;
}

/** mknod(2) through coreutils' mknod: "c"/"b" with major/minor, or "p" for a fifo. */
export async function makeNode(path: string, h: TarHeader): Promise<void> {
  const args =
    h.typeflag === "6"
      ? [path, "p"]
      : [path, h.typeflag === "3" ? "c" : "b", String(h.devmajor), String(h.devminor)];
  await run("mknod", ["-m", "0600", ...args]).catch((err: Error & { stderr?: string }) => {
    throw new UnsupportedError(`mknod ${path}: ${(err.stderr ?? err.message).trim()}`, {
      cause: err,
    });
  });
}

async function setXattr(path: string, name: string, value: Buffer): Promise<void> {
  // "0x" + hex carries any bytes (binary capabilities, empty values) without quoting issues.
  await run("setfattr", ["-h", "-n", name, "-v", `0x${value.toString("hex")}`, "--", path]).catch(
    (err: Error & { stderr?: string }) => {
      throw new UnsupportedError(
        `setting xattr ${name} on ${path}: ${(err.stderr ?? err.message).trim()}`,
        { cause: err },
      );
    },
  );
}

/**
 * Owner first (chown clears setuid/setgid), then the mode (not for symlinks: Linux has no
 * lchmod and their mode is meaningless), then xattrs. Without root, owners are left to the
 * caller and only `user.*` xattrs are set (the others need privileges), as rootless umoci does.
 * Times are not set here: the caller sets them after the entry's directory is complete.
 */
export async function applyOwnerModeXattrs(path: string, h: TarHeader): Promise<void> {
  const root = isRoot();
  if (root) await lchown(path, h.uid, h.gid);
  if (h.typeflag !== "2") await chmod(path, h.mode & 0o7777);
  for (const [name, value] of h.xattrs) {
    if (!root && !name.startsWith("user.")) continue;
    await setXattr(path, name, value);
  }
}

export async function applyTimes(path: string, atime: number, mtime: number): Promise<void> {
  await lutimes(path, atime, mtime);
}
