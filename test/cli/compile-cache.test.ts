/**
 * The CLI's compile cache: per user, 0700, never a directory someone else could have planted;
 * on nodes that offer module.enableCompileCache the CLI fills it, NODE_DISABLE_COMPILE_CACHE=1
 * keeps it off, and on older nodes nothing is written.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import * as nodeModule from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { safeCacheDir } from "../../src/cli/compile-cache.js";
import { CLI } from "./helpers.js";

const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
const dirName = `chunkpull-compile-cache-${uid ?? ""}`;
const nodeHasCache =
  typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === "function";

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 60_000 }, (err) => {
      if (err && typeof err.code !== "number") reject(err);
      else resolve(err ? (err.code as number) : 0);
    });
  });
}

test("safeCacheDir makes a 0700 directory and refuses ones it cannot trust", async (t) => {
  if (uid === undefined) return t.skip("POSIX ownership rules only");
  const base = await mkdtemp(join(tmpdir(), "cp-cc-"));
  try {
    const dir = safeCacheDir(base);
    assert.equal(dir, join(base, dirName));
    assert.equal(statSync(dir!).mode & 0o777, 0o700);
    assert.equal(safeCacheDir(base), dir, "an existing safe directory is reused");

    const open = await mkdtemp(join(tmpdir(), "cp-cc-"));
    mkdirSync(join(open, dirName));
    chmodSync(join(open, dirName), 0o777);
    assert.equal(safeCacheDir(open), undefined, "a directory others can write is not used");

    const linked = await mkdtemp(join(tmpdir(), "cp-cc-"));
    symlinkSync(dir!, join(linked, dirName));
    assert.equal(safeCacheDir(linked), undefined, "a symlink is not followed");
    await rm(open, { recursive: true, force: true });
    await rm(linked, { recursive: true, force: true });
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test("the CLI fills the cache where node offers one; NODE_DISABLE_COMPILE_CACHE=1 keeps it off", async () => {
  const base = await mkdtemp(join(tmpdir(), "cp-cc-"));
  const off = await mkdtemp(join(tmpdir(), "cp-cc-"));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: base, TMP: base, TEMP: base };
    delete env.NODE_COMPILE_CACHE;
    delete env.NODE_DISABLE_COMPILE_CACHE;
    assert.equal(await runCli(["--help"], env), 0);
    const dir = join(base, dirName);
    if (nodeHasCache) {
      assert.ok(existsSync(dir), "cache directory created");
      assert.ok(readdirSync(dir).length > 0, "cache written");
    } else {
      assert.ok(!existsSync(dir), `node ${process.version} has no compile cache: nothing written`);
    }
    const envOff = { ...env, TMPDIR: off, TMP: off, TEMP: off, NODE_DISABLE_COMPILE_CACHE: "1" };
    assert.equal(await runCli(["--help"], envOff), 0);
    assert.ok(!existsSync(join(off, dirName)), "disabled: no cache directory");
  } finally {
    await rm(base, { recursive: true, force: true });
    await rm(off, { recursive: true, force: true });
  }
});
