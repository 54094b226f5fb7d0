/**
 * The crash loop: pulls and gcs in child processes against the mock registry, SIGKILLed at
 * seeded random moments (at least 50 kills, at least 10 of them gc), with unkilled pulls along
 * the way; then `verify` must find zero damage and every next pull must succeed. The seed is
 * printed on failure; CHUNKPULL_CRASH_SEED and CHUNKPULL_CRASH_KILLS replay or lengthen a run.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { assembleImage, buildLayer, pushImage } from "../../src/image/build.js";
import { appLayerFiles, makeTar, rng } from "../../src/image/sample-app.js";
import { pull } from "../../src/pull/pull.js";
import type { Store } from "../../src/store/index.js";
import { APP_SCALE, freshStore, sampleImages, testClient } from "../pull/helpers.js";
import { STORE_MODULE } from "./helpers.js";

const PULL_CHILD = fileURLToPath(new URL("../pull/fixtures/pull-child.js", import.meta.url));
const GC_CHILD = `
  import { openStore } from ${JSON.stringify(STORE_MODULE)};
  const store = await openStore(process.argv[1], { create: false });
  console.log(JSON.stringify(await store.gc()));
`;
const SEED = Number(process.env.CHUNKPULL_CRASH_SEED ?? 20261203);
const KILLS = Number(process.env.CHUNKPULL_CRASH_KILLS ?? 50);
const GC_KILLS = Math.ceil(KILLS / 5);
/** Give up looking for more kills after this long (the machine may be very slow). */
const BUDGET_MS = 240_000;

interface Outcome {
  killed: boolean;
  code: number | null;
  output: string;
}

/** Run a child and SIGKILL it after `killAfterMs` unless it has ended by then. */
function runAndKill(args: string[], killAfterMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (b: Buffer) => {
      output += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      output += b.toString();
    });
    let killed = false;
    const timer = setTimeout(() => {
      killed = child.kill("SIGKILL");
    }, killAfterMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ killed: killed && signal === "SIGKILL", code, output });
    });
  });
}

describe("crash loop", () => {
  let reg: MockRegistry;
  let dir: string;
  let store: Store;
  const refs: string[] = [];

  before(async () => {
    reg = await startMockRegistry();
    const images = await sampleImages("zstd:chunked");
    await pushImage(reg, "crash/app", "v1", images.v1);
    await pushImage(reg, "crash/app", "v2", images.v2);
    const gz = await buildLayer(makeTar(appLayerFiles(3, APP_SCALE)), "gzip");
    await pushImage(reg, "crash/app", "gz", assembleImage([images.base, gz]));
    // Slow enough that a kill lands mid-transfer or mid-write, not only before or after.
    reg.setModes({ bandwidthBytesPerSecond: 1_500_000 }, "crash/app");
    for (const tag of ["v1", "v2", "gz"]) refs.push(`${reg.host}/crash/app:${tag}`);
    ({ dir, store } = await freshStore());
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`survives >= ${KILLS} kills of pulls and gc (seed ${SEED})`, {
    timeout: 600_000,
  }, async () => {
    const next = rng(SEED);
    const random = () => next() / 2 ** 32;
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    let kills = 0;
    let gcKills = 0;
    const started = Date.now();
    const log: string[] = [];
    for (let i = 0; kills < KILLS || gcKills < GC_KILLS; i++) {
      assert.ok(
        Date.now() - started < BUDGET_MS,
        `only ${kills} kills (${gcKills} gc) in ${BUDGET_MS} ms (seed ${SEED})`,
      );
      if (i % 10 === 9) {
        // An unkilled pull in between: it must succeed whatever the kills left behind.
        const ref = pick(refs);
        await pull(ref, { store, client: testClient() }).catch((err: Error) => {
          assert.fail(`pull ${ref} after ${kills} kills failed (seed ${SEED}): ${err.message}`);
        });
        continue;
      }
      const gcTurn = gcKills < GC_KILLS && random() < 0.4;
      if (gcTurn) {
        // Give gc something to do: withdraw a layer so its objects and pointers are garbage.
        const layers = await store.listLayers();
        if (layers.length > 0) await store.removeLayer(pick(layers).diffId);
        const delay = 120 + random() * 600;
        const r = await runAndKill(["--input-type=module", "-e", GC_CHILD, "--", dir], delay);
        log.push(`gc kill@${delay.toFixed(0)} ${r.killed ? "killed" : `rc ${r.code}`}`);
        if (r.killed) {
          kills++;
          gcKills++;
        } else assert.equal(r.code, 0, r.output);
      } else {
        const ref = pick(refs);
        const delay = 150 + random() * 2500;
        const r = await runAndKill([PULL_CHILD, ref, dir], delay);
        log.push(`pull kill@${delay.toFixed(0)} ${r.killed ? "killed" : `rc ${r.code}`}`);
        if (r.killed) kills++;
        else assert.equal(r.code, 0, `pull ${ref} (seed ${SEED}): ${r.output.slice(-2000)}`);
      }
    }
    const report = await store.verify();
    assert.deepEqual(
      report.problems,
      [],
      `damage after ${kills} kills (seed ${SEED}):\n${log.join("\n")}`,
    );
    for (const ref of refs) {
      const r = await pull(ref, { store, client: testClient() });
      assert.ok(
        r.layers.every((l) => l.verified === "diff-id"),
        ref,
      );
    }
    await store.gc();
    const final = await store.verify();
    assert.deepEqual(final.problems, []);
    assert.ok(final.layers >= 3);
  });
});
