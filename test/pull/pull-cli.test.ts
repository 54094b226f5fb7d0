/**
 * `chunkpull pull` end to end, as a user runs it: the built CLI against the mock registry.
 * `--json` prints exactly one JSON document with the per-layer figures; failures exit non-zero
 * with a message that names what went wrong.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import type { PullResult } from "../../src/pull/types.js";
import { pushTo, type SampleImages, sampleImages, tempDir } from "./helpers.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], {
      env: { ...process.env, HOME: "/nonexistent", XDG_CACHE_HOME: "/nonexistent" },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const LAYER_FIELDS = [
  "digest",
  "diffId",
  "format",
  "mode",
  "bytesFetched",
  "requests",
  "ranges",
  "filesTotal",
  "filesFromStore",
  "chunksFromStore",
  "verified",
];

describe("chunkpull pull (CLI)", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  let dir: string;
  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushTo(reg, "cli/app", "v1", images.v1);
    await pushTo(reg, "cli/app", "v2", images.v2);
    dir = await tempDir();
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("--json prints one document with the per-layer figures and exits 0", async () => {
    const store = `${dir}/store`;
    const first = await cli(["pull", `${reg.host}/cli/app:v1`, "--store", store, "--json"]);
    assert.equal(first.code, 0, first.stderr);
    reg.resetStats();
    const { code, stdout, stderr } = await cli([
      "pull",
      `${reg.host}/cli/app:v2`,
      "--store",
      store,
      "--json",
    ]);
    assert.equal(code, 0, stderr);
    const doc = JSON.parse(stdout) as PullResult; // throws unless stdout is ONE JSON document
    assert.equal(doc.manifestDigest, images.v2.manifestDigest);
    assert.equal(doc.layers.length, 2);
    for (const l of doc.layers) {
      for (const f of LAYER_FIELDS) assert.ok(f in l, `layer field ${f} in ${JSON.stringify(l)}`);
      assert.equal(l.verified, "diff-id");
    }
    const [base, app] = doc.layers;
    assert.equal(base!.mode, "cached");
    assert.equal(app!.mode, "partial");
    assert.equal(app!.digest, images.v2.layers[1]!.descriptor.digest);
    assert.equal(app!.diffId, images.v2.layers[1]!.diffId);
    assert.ok(app!.filesFromStore > 0 && app!.chunksFromStore > 0);
    // The printed figures are the server's: same request count, and no more bytes than it sent.
    const recs = reg.stats().requests.filter((r) => r.digest === app!.digest);
    assert.equal(app!.requests, recs.length);
    assert.ok(app!.bytesFetched <= recs.reduce((n, r) => n + r.bytesSent, 0));
    assert.equal(doc.bytesFetched, app!.bytesFetched);
  });

  test("a failing pull exits non-zero and says why", async () => {
    const missing = await cli([
      "pull",
      `${reg.host}/cli/app:nope`,
      "--store",
      `${dir}/s2`,
      "--json",
    ]);
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stdout, "");
    assert.match(missing.stderr, /^chunkpull pull: .*cli\/app.*nope.* \[ENOTFOUND\]; hint: /m);

    // A flipped byte inside the first layer's compressed data: the message names the layer and
    // the file whatever the decoder noticed first (zstd corruption or a digest mismatch).
    reg.setModes({ corruptByteAt: 5000 }, "cli/bad");
    await pushTo(reg, "cli/bad", "v1", images.v1);
    const corrupt = await cli(["pull", `${reg.host}/cli/bad:v1`, "--store", `${dir}/s3`, "--json"]);
    assert.equal(corrupt.code, 1);
    // Both layers are damaged at the same offset: the error is the first one that failed, and
    // it names its own layer and file.
    const [l0, l1] = images.v1.layers.map((l) => l.descriptor.digest);
    assert.match(
      corrupt.stderr,
      new RegExp(
        `^chunkpull pull: layer (${l0}: "/usr/share/doc\\d/file\\d+\\.txt"|${l1}: "/app/[^"]+") chunk \\d+: `,
        "m",
      ),
    );
    // And it says what it left behind, and how to remove it.
    assert.match(corrupt.stderr, /files fetched so far stay in the store .*chunkpull store gc/);

    const usage = await cli(["pull", `${reg.host}/cli/app:v1`, "--verify", "maybe"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--verify must be diff-id or toc/);
  });
});
