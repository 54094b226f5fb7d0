/**
 * Node's on-disk compile cache for the CLI (node >= 22.1: module.enableCompileCache): the
 * modules a command loads after start-up are compiled from cached V8 code instead of from
 * source, which is most of the start-up time left after lazy loading. On older nodes this is a
 * no-op. NODE_DISABLE_COMPILE_CACHE=1 turns it off (node's own switch; checked here as well).
 *
 * The cache holds code node will run, so it lives in a directory only this user can write:
 * `<tmpdir>/chunkpull-compile-cache-<uid>`, created 0700; when that path exists but is not a
 * real directory owned by this user and closed to others (a symlink, another user's), the cache
 * stays off rather than trusting it. NODE_COMPILE_CACHE, when set, is node's choice and wins.
 */
import { lstatSync, mkdirSync } from "node:fs";
import * as nodeModule from "node:module";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

type EnableCompileCache = (dir?: string) => { status: number; message?: string };

/** The per-user cache directory, or undefined when it is missing and cannot be made safe. */
export function safeCacheDir(base: string = tmpdir()): string | undefined {
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  const who = uid ?? userInfo().username.replace(/[^A-Za-z0-9._-]/g, "_");
  const dir = join(base, `chunkpull-compile-cache-${who}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory()) return undefined;
    // POSIX: ours, and nobody else may write into it.
    if (uid !== undefined && (st.uid !== uid || (st.mode & 0o022) !== 0)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/** Enables the cache when node offers it; returns the directory used, or undefined. */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const enable = (nodeModule as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  if (typeof enable !== "function") return undefined;
  if (env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  if (env.NODE_COMPILE_CACHE) return env.NODE_COMPILE_CACHE; // node enabled it at start
  const dir = safeCacheDir();
  if (dir === undefined) return undefined;
  try {
    enable(dir);
    return dir;
  } catch {
    return undefined; // a cache is an optimisation: never a reason to fail a command
  }
}
