import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { UnsupportedError } from "../../src/errors.js";
import { defaultStoreDir, openStore } from "../../src/store/index.js";

describe("openStore", () => {
  it("defaults to $XDG_CACHE_HOME/chunkpull, else ~/.cache/chunkpull", () => {
    const saved = process.env["XDG_CACHE_HOME"];
    try {
      process.env["XDG_CACHE_HOME"] = "/var/cache/someone";
      assert.equal(defaultStoreDir(), "/var/cache/someone/chunkpull");
      delete process.env["XDG_CACHE_HOME"];
      assert.equal(defaultStoreDir(), join(homedir(), ".cache", "chunkpull"));
      process.env["XDG_CACHE_HOME"] = "relative/ignored";
      assert.equal(defaultStoreDir(), join(homedir(), ".cache", "chunkpull"));
    } finally {
      if (saved === undefined) delete process.env["XDG_CACHE_HOME"];
      else process.env["XDG_CACHE_HOME"] = saved;
    }
  });

  it("initialises a fresh directory once under concurrent opens", async () => {
    const dir = await mkdtemp(join(tmpdir(), "chunkpull-open-"));
    try {
      const stores = await Promise.all(Array.from({ length: 10 }, () => openStore(dir)));
      assert.ok(stores.every((s) => s.root === dir));
      assert.equal(await readFile(join(dir, "VERSION"), "utf8"), "chunkpull-store 1\n");
      assert.equal((await stores[0]!.stats()).tempFiles, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a store of another version", async () => {
    const dir = await mkdtemp(join(tmpdir(), "chunkpull-open-"));
    try {
      await writeFile(join(dir, "VERSION"), "chunkpull-store 99\n");
      await assert.rejects(openStore(dir), UnsupportedError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
