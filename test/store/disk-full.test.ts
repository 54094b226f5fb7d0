/**
 * A full disk (a tiny tmpfs): the pull fails with ENOSPC naming the path, leaves no temp file,
 * and `store ls`, `gc` and `verify` still run on the full disk without writing a byte. Needs root
 * and mount(8); skipped elsewhere.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, open, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { ChunkpullError } from "../../src/errors.js";
import { assembleImage, buildLayer, pushImage } from "../../src/image/build.js";
import { makeTar } from "../../src/image/sample-app.js";
import { pull } from "../../src/pull/pull.js";
import { openStore } from "../../src/store/index.js";
import { runCli } from "../cli/helpers.js";
import { testClient } from "../pull/helpers.js";

function tryMount(dir: string): boolean {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Fill what is left of the filesystem holding `dir`. */
async function fill(dir: string): Promise<void> {
  const fh = await open(join(dir, "filler"), "w");
  const piece = Buffer.alloc(64 << 10, 1);
  try {
    for (;;) await fh.write(piece);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, "ENOSPC");
  } finally {
    await fh.close();
  }
}

describe("a full disk", () => {
  let reg: MockRegistry;
  let mnt: string;
  let mounted = false;
  before(async () => {
    mnt = await mkdtemp(join(tmpdir(), "chunkpull-full-"));
    mounted = tryMount(mnt);
    reg = await startMockRegistry();
    const big = makeTar([{ name: "big.bin", data: randomBytes(3 << 20) }]);
    const small = makeTar([{ name: "small.txt", data: Buffer.from("hello\n") }]);
    await pushImage(reg, "full/app", "big", assembleImage([await buildLayer(big, "gzip")]));
    await pushImage(reg, "full/app", "small", assembleImage([await buildLayer(small, "gzip")]));
  });
  after(async () => {
    await reg.close();
    if (mounted) execFileSync("umount", [mnt]);
    await rm(mnt, { recursive: true, force: true });
  });

  it("fails a pull with ENOSPC naming the path; ls, gc and verify still run", async (t) => {
    if (!mounted) {
      t.skip("needs root and mount -t tmpfs");
      return;
    }
    const dir = join(mnt, "store");
    const store = await openStore(dir);
    await pull(`${reg.host}/full/app:small`, { store, client: testClient() });
    await assert.rejects(
      pull(`${reg.host}/full/app:big`, { store, client: testClient() }),
      (err: unknown) => {
        assert.ok(err instanceof ChunkpullError, String(err));
        assert.equal(err.code, "ENOSPC");
        assert.ok(err.message.includes(dir), err.message);
        return true;
      },
    );
    assert.deepEqual(await readdir(store.layout.tmpDir), [], "no temp file left behind");
    await fill(mnt);
    for (const cmd of ["ls", "gc", "verify", "du"]) {
      const r = await runCli(["store", cmd, "--store", dir]);
      assert.equal(r.code, 0, `${cmd} on a full disk: ${r.stderr}`);
    }
    assert.deepEqual(await readdir(store.layout.tmpDir), [], "read-only commands wrote nothing");
    const ls = await runCli(["store", "ls", "--store", dir, "--json"]);
    assert.equal(JSON.parse(ls.stdout).layers.length, 1, "the small image is still there");
  });
});
