/**
 * The store's two-sided lock protocol (docs/store.md): every pull holds a marker file in
 * `pulls/`; gc holds `gc.lock`. Each side first announces itself (creates its file) and then looks
 * for the other side, so at least one of two racing parties sees the other: a pull that sees a live
 * gc withdraws its marker and waits; gc waits until no live pull marker remains. Liveness is the
 * owner's pid (same host) plus a heartbeat: the owner touches its file every `staleMs / 8`, and a
 * file not touched for `staleMs` is stale (crashed on another host, hung, or a reused pid).
 */
import { randomBytes } from "node:crypto";
import { readdir, readFile, stat, unlink, utimes, writeFile } from "node:fs/promises";
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
  host: string;
  started: number;
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

function ownerInfo(): OwnerInfo {
  return { pid: process.pid, host: hostname(), started: Date.now() };
}

/** Whether the lock/marker file at `path` belongs to a live owner. Missing files are not live. */
export async function isLive(path: string, timings: LockTimings): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(path, "utf8"), stat(path)]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  if (Date.now() - mtimeMs > timings.staleMs) return false;
  let info: Partial<OwnerInfo> = {};
  try {
    info = JSON.parse(text) as Partial<OwnerInfo>;
  } catch {
    return true; // being written right now (fresh mtime): assume live
  }
  if (info.host === hostname() && typeof info.pid === "number") return pidAlive(info.pid);
  return true;
}

/** Create `path` exclusively with owner info and keep its heartbeat until released. */
async function createHeld(path: string, timings: LockTimings): Promise<Held> {
  await writeFile(path, JSON.stringify(ownerInfo()), { flag: "wx" });
  const beat = setInterval(
    () => {
      const now = new Date();
      utimes(path, now, now).catch(() => {});
    },
    Math.max(10, Math.floor(timings.staleMs / 8)),
  );
  beat.unref();
  let released = false;
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
    const before = await stat(gcLock).catch(() => undefined);
    if (await isLive(gcLock, timings)) {
      throw new StoreBusyError(`another gc holds ${gcLock}`);
    }
    // Remove the stale lock only if it is still the same file we judged (inode check), so a
    // lock freshly taken by a racing gc is not removed.
    const now = await stat(gcLock).catch(() => undefined);
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
