/**
 * Pulls in other processes: one SIGKILLed in the middle of a slow transfer (the next pull into
 * the same store must succeed and verify, and gc must keep what the records reference), and
 * concurrent pulls of one image into one store (in one process and in two).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { assembleImage, type BuiltImage, buildLayer } from "../../mock-registry/src/image/build.js";
import { baseLayerFiles, makeTar } from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { pull } from "../../src/pull/pull.js";
import type { PullResult } from "../../src/pull/types.js";
import type { Store } from "../../src/store/store.js";
import { freshStore, pushTo, type SampleImages, sampleImages, testClient } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixtures/pull-child.js", import.meta.url));

interface ChildRun {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  done: Promise<number | null>;
}

function runChild(ref: string, storeDir: string): ChildRun {
  const child = spawn(process.execPath, [CHILD, ref, storeDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<Record<string, unknown>> = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.resume();
  const done = once(child, "exit").then(([code]) => code as number | null);
  return { child, lines, done };
}

/** Every object a layer record references is in the store. */
async function assertRecordsComplete(store: Store): Promise<number> {
  let objects = 0;
  for (const rec of await store.listLayers()) {
    for (const d of rec.objects) {
      assert.ok(await store.hasObject(d), `layer ${rec.diffId} lost object ${d}`);
      objects++;
    }
  }
  return objects;
}

describe("pulls in several processes", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  let slow: BuiltImage;
  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushTo(reg, "proc/app", "v1", images.v1);
    // A small first layer, so the throttled transfer reaches the app layer quickly.
    const small = await buildLayer(makeTar(baseLayerFiles(8).slice(0, 20)), "zstd:chunked");
    slow = assembleImage([small, images.v1.layers[1]!]);
    await pushTo(reg, "proc/slow", "v1", slow);
  });
  after(() => reg.close());

  test("a pull killed mid-transfer leaves a store the next pull completes", async () => {
    const { dir, store } = await freshStore();
    const app = slow.layers[1]!.descriptor.digest;
    // The app layer (0.46 MB) takes ~2 s at this rate; the small first layer goes first, fast.
    reg.setModes({ bandwidthBytesPerSecond: 250_000 }, "proc/slow");
    try {
      const run = runChild(`${reg.host}/proc/slow:v1`, dir);
      // Wait until the server is in the middle of sending the app layer's chunks.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const inFlight = reg
          .stats()
          .requests.find(
            (r) =>
              r.repo === "proc/slow" &&
              r.digest === app &&
              r.status === 206 &&
              r.bytesSent > 100_000,
          );
        if (inFlight) break;
        if (run.child.exitCode !== null)
          assert.fail(`child exited early: ${JSON.stringify(run.lines)}`);
        assert.ok(Date.now() < deadline, "the transfer never got going");
        await sleep(20);
      }
      run.child.kill("SIGKILL");
      assert.equal(await run.done, null, "killed, not exited");
      assert.ok(!run.lines.some((l) => "result" in l), "the child did not finish");
      // The app layer has no record. The small base layer usually finished before the kill,
      // but layers run side by side, so on a loaded machine it may not have.
      const baseRecorded = (await store.getLayer(slow.layers[0]!.diffId)) !== undefined;
      assert.equal(await store.getLayer(slow.layers[1]!.diffId), undefined);

      reg.clearModes("proc/slow");
      const client = testClient();
      try {
        const r = await pull(`${reg.host}/proc/slow:v1`, { store, client });
        assert.equal(r.layers[0]!.mode, baseRecorded ? "cached" : "partial");
        assert.equal(r.layers[1]!.mode, "partial");
        assert.equal(r.layers[1]!.verified, "diff-id");
      } finally {
        await client.close();
      }
      const gc = await store.gc({ waitMs: 5000 });
      assert.ok(gc !== undefined);
      const kept = await assertRecordsComplete(store);
      assert.ok(kept > 0);
      assert.equal((await store.stats()).tempFiles, 0, "gc removed the killed pull's temp files");
      // And the store still serves the image without fetching anything.
      const again = await pull(`${reg.host}/proc/slow:v1`, { store });
      assert.ok(again.layers.every((l) => l.mode === "cached"));
    } finally {
      reg.clearModes("proc/slow");
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("two concurrent pulls of one image into one store (one process)", async () => {
    const { dir, store } = await freshStore();
    try {
      const ref = `${reg.host}/proc/app:v1`;
      const results = await Promise.all([pull(ref, { store: dir }), pull(ref, { store })]);
      for (const r of results) {
        assert.equal(r.layers.length, 2);
        for (const l of r.layers) assert.equal(l.verified, "diff-id");
      }
      assert.equal((await store.listLayers()).length, 2);
      await store.gc({ waitMs: 5000 });
      assert.ok((await assertRecordsComplete(store)) > 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("two concurrent pulls of one image into one store (two processes)", async () => {
    const { dir, store } = await freshStore();
    try {
      const ref = `${reg.host}/proc/app:v1`;
      const runs = [runChild(ref, dir), runChild(ref, dir)];
      const codes = await Promise.all(runs.map((r) => r.done));
      for (const [i, run] of runs.entries()) {
        assert.equal(codes[i], 0, JSON.stringify(run.lines.filter((l) => "error" in l)));
        const result = run.lines.find((l) => "result" in l)!["result"] as PullResult;
        for (const l of result.layers) assert.equal(l.verified, "diff-id");
      }
      assert.equal((await store.listLayers()).length, 2);
      await store.gc({ waitMs: 5000 });
      assert.ok((await assertRecordsComplete(store)) > 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an aborted pull rejects, records nothing and releases its pull marker", async () => {
    const { dir, store } = await freshStore();
    reg.setModes({ bandwidthBytesPerSecond: 250_000 }, "proc/slow");
    const controller = new AbortController();
    try {
      const pulled = pull(`${reg.host}/proc/slow:v1`, {
        store,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.kind === "plan" && e.layer === slow.layers[1]!.descriptor.digest) {
            setTimeout(() => controller.abort(new Error("user gave up")), 200);
          }
        },
      });
      await assert.rejects(pulled);
      assert.equal(await store.getLayer(slow.layers[1]!.diffId), undefined);
      assert.equal((await store.stats()).activePulls, 0);
      await store.gc({ waitMs: 1000 }); // would wait (and fail) for a leaked marker
    } finally {
      reg.clearModes("proc/slow");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
