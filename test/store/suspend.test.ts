/**
 * A pull suspended (SIGSTOP) far past the stale-marker age is still alive: gc waits for it
 * instead of collecting its objects, and the pull completes when it resumes. The stale age is
 * injected (200 ms) so the test does not wait minutes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { StoreBusyError } from "../../src/errors.js";
import { openStore } from "../../src/store/index.js";
import { STORE_MODULE, tempStore } from "./helpers.js";

const TIMINGS = { staleMs: 200, pollMs: 20 };

/** Child: registers a pull, writes an object, then waits for `go` before recording a layer. */
const PULLER = `
  import { existsSync } from "node:fs";
  import { openStore } from ${JSON.stringify(STORE_MODULE)};
  const [dir, go] = process.argv.slice(1);
  const store = await openStore(dir, { timings: ${JSON.stringify(TIMINGS)} });
  const pull = await store.beginPull();
  const obj = await store.writeObject(Buffer.from("in flight " + process.pid));
  console.log("object " + obj.digest);
  while (!existsSync(go)) await new Promise((r) => setTimeout(r, 20));
  await store.putLayer({
    diffId: "sha256:" + "ab".repeat(32), compressedDigest: "sha256:" + "cd".repeat(32),
    mediaType: "m", format: "tar", verified: "diff_id", objects: [obj.digest],
    uncompressedSize: 1,
  }, Buffer.from("{}"), Buffer.alloc(0));
  await pull.end();
  console.log("done");
`;

describe("a suspended pull", () => {
  it("is never collected from under itself, and completes when resumed", async () => {
    const seed = await tempStore();
    const go = join(seed.root, "..", `go-${process.pid}-${Date.now()}`);
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", PULLER, "--", seed.root, go],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    const object = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (b: Buffer) => {
        stdout += b.toString();
        const m = /object (sha256:[0-9a-f]{64})/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      child.on("close", () => reject(new Error(`child ended early: ${stderr}`)));
    });
    let ok = false;
    try {
      child.kill("SIGSTOP");
      await sleep(1000); // five stale ages without a heartbeat
      const store = await openStore(seed.root, { timings: { ...TIMINGS, waitMs: 600 } });
      await assert.rejects(store.gc(), StoreBusyError, "gc waits for the suspended pull");
      assert.ok(await store.hasObject(object as `sha256:${string}`), "its object is still there");
      ok = true;
    } finally {
      child.kill("SIGCONT");
      if (!ok) child.kill("SIGKILL"); // a failed assertion must not leave it waiting forever
    }
    await writeFile(go, "");
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /done/);
    const store = await openStore(seed.root);
    assert.ok(
      await store.getLayer(`sha256:${"ab".repeat(32)}`),
      "the resumed pull recorded its layer",
    );
  });
});
