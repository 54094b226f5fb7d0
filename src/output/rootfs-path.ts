/**
 * Confining tar entry names to a root directory without trusting the names or the tree.
 *
 * Node has no openat(2), so confinement is done the way openat-based extractors reason about it:
 * a name is split into components, `..` and absolute names are refused outright, and the tree is
 * walked one component at a time with lstat(2). A component that is a symbolic link is never
 * followed (refused), a missing directory is created (0755, as tar and umoci do). The last
 * component is then only ever created with O_EXCL / symlink(2) / link(2) / mknod(2) after
 * removing what stood there, none of which follow a final symlink. The extractor is the only
 * writer of the root while it runs, so the checked path stays what was checked.
 */
import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ChunkpullError } from "../errors.js";

/** An entry would be written (or would reach) outside the root directory: nothing is written. */
export class UnsafePathError extends ChunkpullError {
  readonly entry: string;
  constructor(entry: string, reason: string) {
    super("EUNSAFEPATH", `tar entry ${JSON.stringify(entry)}: ${reason}; nothing written for it`);
    this.entry = entry;
  }
}

/**
 * The components of a tar name relative to the root: "./a//b/" -> ["a", "b"]. The root itself
 * is []. Absolute names and any `..` component are refused (no lexical cleaning that could turn
 * "a/../../x" into something plausible).
 */
export function entryComponents(name: string, what = name): string[] {
  if (name.startsWith("/")) throw new UnsafePathError(what, "absolute name");
  const parts: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") throw new UnsafePathError(what, "`..` component");
    parts.push(c);
  }
  return parts;
}

export interface ConfinedPath {
  /** Absolute path of the entry (its parent chain verified: real directories, no symlinks). */
  path: string;
  /** Absolute path of the parent directory. */
  parent: string;
  /** Directories created on the way (implicit parents), outermost first. */
  created: string[];
}

/**
 * Walk `components` below `root`, every directory but the last component checked with lstat.
 * With `create`, missing directories are made; without, a missing one is an error (used for
 * hard link targets, which must already exist).
 */
export async function confine(
  root: string,
  components: readonly string[],
  entry: string,
  create: boolean,
): Promise<ConfinedPath> {
  let dir = root;
  const created: string[] = [];
  for (let i = 0; i < components.length - 1; i++) {
    const next = join(dir, components[i]!);
    const st = await lstat(next).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (st === undefined) {
      if (!create)
        throw new UnsafePathError(entry, `${components.slice(0, i + 1).join("/")} does not exist`);
      await mkdir(next, { mode: 0o755 });
      created.push(next);
    } else if (st.isSymbolicLink()) {
      throw new UnsafePathError(
        entry,
        `${components.slice(0, i + 1).join("/")} is a symbolic link (never followed)`,
      );
    } else if (!st.isDirectory()) {
      throw new UnsafePathError(
        entry,
        `${components.slice(0, i + 1).join("/")} is not a directory`,
      );
    }
    dir = next;
  }
  const last = components[components.length - 1];
  return { path: last === undefined ? root : join(dir, last), parent: dir, created };
}
