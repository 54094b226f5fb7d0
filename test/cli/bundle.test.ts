/**
 * The installed command, bin/chunkpull.mjs: it runs the bundled command line the build makes
 * (scripts/bundle.mjs) and must behave exactly as the compiled modules do: version, help, a
 * partial pull verified by diff-id, a failure as one line with its code.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import type { PullResult } from "../../src/pull/types.js";
import { pushTo, type SampleImages, sampleImages, tempDir } from "../pull/helpers.js";
import { cleanEnv, runChild } from "./child.js";

const root = new URL("../../../", import.meta.url);
const BIN = fileURLToPath(new URL("bin/chunkpull.mjs", root));
const BUNDLE = fileURLToPath(new URL("dist/bin/chunkpull.mjs", root));

const bin = (args: string[]) => runChild(args, { main: BIN, env: cleanEnv() });

describe("bin/chunkpull.mjs (the bundled command line)", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  let dir: string;
  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushTo(reg, "bundle/app", "v1", images.v1);
    await pushTo(reg, "bundle/app", "v2", images.v2);
    dir = await tempDir();
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the build made the bundle (esbuild is a devDependency)", () => {
    assert.ok(existsSync(BUNDLE), `${BUNDLE} missing: npm run build bundles the command line`);
  });

  test("--version names the package's version, --help lists the commands", async () => {
    const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
      version: string;
    };
    const v = await bin(["--version"]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), `chunkpull ${pkg.version} (node ${process.version})`);
    const h = await bin(["--help"]);
    assert.equal(h.code, 0, h.stderr);
    for (const c of ["pull", "inspect", "push", "store"]) assert.match(h.stdout, new RegExp(c));
  });

  test("pulls v1, then v2 partially, verified by diff-id", async () => {
    const store = `${dir}/store`;
    const first = await bin(["pull", `${reg.host}/bundle/app:v1`, "--store", store, "--json"]);
    assert.equal(first.code, 0, first.stderr);
    const second = await bin(["pull", `${reg.host}/bundle/app:v2`, "--store", store, "--json"]);
    assert.equal(second.code, 0, second.stderr);
    const doc = JSON.parse(second.stdout) as PullResult;
    assert.equal(doc.manifestDigest, images.v2.manifestDigest);
    for (const l of doc.layers) assert.equal(l.verified, "diff-id");
    assert.equal(doc.layers[1]!.mode, "partial");
  });

  test("a failure is one line with its code", async () => {
    const r = await bin(["pull", `${reg.host}/bundle/app:nope`, "--store", `${dir}/s2`, "--quiet"]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /\[E[A-Z]+\]/);
  });
});
