/**
 * The pull command's output options are checked before anything is fetched: a bad transport,
 * two spellings of the same output, or a non-empty --rootfs directory are usage errors (exit 2)
 * with nothing pulled. The reference points at a closed port: reaching it would be exit 1.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "../helpers/docker-registry.js";
import { tempDir } from "../pull/helpers.js";

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(process.execPath, [MAIN, ...args]);
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe("pull output options (CLI)", () => {
  test("usage errors come before the pull", async () => {
    const dir = await tempDir("chunkpull-cli-outputs-");
    try {
      const ref = `127.0.0.1:${await freePort()}/x/y:v1`;
      const store = ["--store", join(dir, "store")];
      const full = join(dir, "full");
      await mkdir(full);
      await writeFile(join(full, "f"), "x");
      const cases: [string[], RegExp][] = [
        [["--output", `tarball:${dir}/x`], /unknown transport "tarball"/],
        [["--output", "oci:"], /expected oci:DIR\[:TAG\]/],
        [["--output", `oci:${dir}/a`, "--oci-layout", `${dir}/b`], /name the same output/],
        [["--rootfs", full], /not empty/],
      ];
      for (const [args, message] of cases) {
        const r = await cli(["pull", ref, ...store, ...args]);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.match(r.stderr, /\[EUSAGE\]/);
      }
      // The pull itself does run with good options (and fails on the closed port: exit 1).
      const r = await cli(["pull", ref, ...store, "--output", `oci:${dir}/layout:t`, "--quiet"]);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual((await readdir(dir)).sort(), ["full", "store"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("push: bad --convert, bad source syntax and a digest target are usage errors", async () => {
    const ref = `127.0.0.1:${await freePort()}/x/y:v1`;
    for (const [args, message] of [
      [["push", "oci:/nonexistent:v1", ref, "--convert", "gzip"], /--convert must be one of/],
      [["push", "dir:/tmp/x", ref], /expected oci:DIR\[:TAG\] or docker-archive/],
      [
        ["push", "oci:/nonexistent:v1", `${ref}@sha256:${"a".repeat(64)}`],
        /push to a tag, not a digest/,
      ],
    ] as [string[], RegExp][]) {
      const r = await cli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
  });
});
