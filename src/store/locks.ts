/**
 * The store's two-sided lock protocol (docs/store.md): every pull holds a marker file in
 * `pulls/`; gc holds `gc.lock`. Each side first announces itself (creates its file) and then looks
 * for the other side, so at least one of two racing parties sees the other: a pull that sees a live
 * gc withdraws its marker and waits; gc waits until no live pull marker remains.
 *
 * Liveness on the same host is the owner itself: its pid exists and is still the same process
 * (the kernel's start time of that pid, recorded in the file, rules out a reused pid). A live
 * owner stays live however long it is suspended (SIGSTOP, a laptop lid), so gc never collects
 * from under a pull that will resume. Owners on another host (a shared directory) are judged by a
 * heartbeat: the owner touches its file every `staleMs / 8` (recreating it if it was removed),
 * and a file not touched for `staleMs` is stale.
 *
 * The files are symbolic links whose target text is `<pid>.<start>.<host tag>`: symlink(2) creates
 * one exclusively with its content in one step, and a short target needs no data block, so gc can
 * take its lock on a full disk. Regular-file markers of older versions are still read.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { lstat, lutimes, readdir, readFile, readlink, symlink, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { StoreBusyError } from "../errors.js";

export interface LockTimings {
  /** A lock or marker whose heartbeat is older than this is stale. */
  staleMs: number;
  /** How long beginPull waits for a gc, and gc for pulls, before StoreBusyError. */
  waitMs: number;
  /** Poll interval while waiting. */
  pollMs: number;
}

export const DEFAULT_TIMINGS: LockTimings = { staleMs: 120_000, waitMs: 600_000, pollMs: 100 };

interface OwnerInfo {
  pid: number;
  /** The kernel's start time of the pid (/proc/<pid>/stat field 22), when known. */
  start?: string;
  host: string;
}

export interface Held {
  path: string;
  release(): Promise<void>;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The start time of a process as the kernel reports it (Linux), or undefined. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19]; // field 22 overall: starttime
  } catch {
    return undefined;
  }
}

const HOST_TAG = createHash("sha256").update(hostname()).digest("hex").slice(0, 12);
const MY_START = processStart(process.pid);

function ownerText(): string {
  return `${process.pid}.${MY_START ?? "-"}.${HOST_TAG}`;
}

function parseOwner(text: string): OwnerInfo | undefined {
  const m = /^(\d+)\.([0-9]+|-)\.([0-9a-f]+)$/.exec(text);
  if (m) {
    return { pid: Number(m[1]), host: m[3]!, ...(m[2] !== "-" && { start: m[2]! }) };
  }
  try {
    // Regular-file markers of older versions: {"pid", "host", "started"}.
    const info = JSON.parse(text) as { pid?: unknown; host?: unknown };
    if (typeof info.pid !== "number" || typeof info.host !== "string") return undefined;
    const host = createHash("sha256").update(info.host).digest("hex").slice(0, 12);
    return { pid: info.pid, host };
  } catch {
    return undefined;
  }
}

/** Whether the lock/marker file at `path` belongs to a live owner. Missing files are not live. */
export async function isLive(path: string, timings: LockTimings): Promise<boolean> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (!st) return false;
  const text = await (st.isSymbolicLink() ? readlink(path) : readFile(path, "utf8")).catch(
    () => undefined,
  );
  const fresh = Date.now() - st.mtimeMs <= timings.staleMs;
  const info = text === undefined ? undefined : parseOwner(text);
  if (!info) return fresh; // being written right now (fresh), or junk (stale)
  if (info.host !== HOST_TAG) return fresh;
  if (!pidAlive(info.pid)) return false;
  if (info.start !== undefined) {
    const now = processStart(info.pid);
    if (now !== undefined && now !== info.start) return false; // the pid was reused
    return true;
  }
  return fresh; // no start time to prove it is the same process: trust the heartbeat
}

/** Create `path` exclusively with owner info and keep its heartbeat until released. */
async function createHeld(path: string, timings: LockTimings): Promise<Held> {
  const text = ownerText();
  await symlink(text, path);
  let released = false;
  const beat = setInterval(
    () => {
      const now = new Date();
      lutimes(path, now, now).catch((err: NodeJS.ErrnoException) => {
        // Removed by someone who judged it stale (another host): put it back while we live.
        if (err.code === "ENOENT" && !released) symlink(text, path).catch(() => {});
      });
    },
    Math.max(10, Math.floor(timings.staleMs / 8)),
  );
  beat.unref();
  return {
    path,
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(beat);
      await unlink(path).catch(() => {});
    },
  };
}

/**
 * Register a pull; waits while a live gc holds the store. With `alreadyHolding` (this process
 * holds another marker on the store) the gc check is skipped: no gc can be collecting while that
 * marker exists, and waiting would deadlock against a gc that waits for it.
 */
export async function acquirePull(
  pullsDir: string,
  gcLock: string,
  timings: LockTimings,
  alreadyHolding = false,
): Promise<Held> {
  const deadline = Date.now() + timings.waitMs;
  for (;;) {
    const marker = join(pullsDir, `${process.pid}-${randomBytes(8).toString("hex")}`);
    const held = await createHeld(marker, timings);
    if (alreadyHolding || !(await isLive(gcLock, timings))) return held;
    await held.release();
    if (Date.now() >= deadline) {
      throw new StoreBusyError(`store is being garbage-collected (${gcLock}); gave up waiting`);
    }
    await sleep(timings.pollMs);
  }
}

/**
 * Take the gc lock (fails fast with StoreBusyError if another gc is live), then wait until no
 * live pull marker remains. Stale locks and markers are removed on the way.
 */
export async function acquireGc(
  pullsDir: string,
  gcLock: string,
  timings: LockTimings,
): Promise<Held> {
  const held = await takeGcLock(gcLock, timings);
  const deadline = Date.now() + timings.waitMs;
  try {
    for (;;) {
      const live = await livePullMarkers(pullsDir, timings);
      if (live.length === 0) return held;
      if (Date.now() >= deadline) {
        throw new StoreBusyError(`gc gave up waiting for active pulls: ${live.join(", ")}`);
      }
      await sleep(timings.pollMs);
    }
  } catch (err) {
    await held.release();
    throw err;
  }
}

async function takeGcLock(gcLock: string, timings: LockTimings): Promise<Held> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await createHeld(gcLock, timings);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 5) throw err;
    }
    const before = await lstat(gcLock).catch(() => undefined);
    if (await isLive(gcLock, timings)) {
      throw new StoreBusyError(`another gc holds ${gcLock}`);
    }
    // Remove the stale lock only if it is still the same file we judged (inode check), so a
    // lock freshly taken by a racing gc is not removed.
    const now = await lstat(gcLock).catch(() => undefined);
    if (before && now && before.ino === now.ino) await unlink(gcLock).catch(() => {});
  }
}

/** Names of live pull markers; stale ones are deleted. */
export async function livePullMarkers(pullsDir: string, timings: LockTimings): Promise<string[]> {
  const names = await readdir(pullsDir).catch(() => [] as string[]);
  const live: string[] = [];
  for (const name of names) {
    const path = join(pullsDir, name);
    if (await isLive(path, timings)) live.push(name);
    else await unlink(path).catch(() => {});
  }
  return live;
}
