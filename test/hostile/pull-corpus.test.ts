/**
 * The hostile image corpus (corpus.ts) pulled from the mock registry into a fresh store inside
 * a temp directory: each case ends as it says (a specific error code, a full pull proven by the
 * diff_id, or an accepted layer); nothing lands outside the store; a failed case leaves no
 * layer record; and the honest image pulls (and verifies) into the same store afterwards.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { assembleImage, pushImage } from "../../mock-registry/src/image/build.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { ChunkpullError } from "../../src/errors.js";
import { pull } from "../../src/pull/pull.js";
import { openStore } from "../../src/store/index.js";
import { testClient } from "../pull/helpers.js";
import { CORPUS, type Honest, honestLayer, MARKER } from "./corpus.js";

function noMarkerAround(dir: string): void {
  for (const d of [dir, dirname(dir), tmpdir(), "/", "/tmp", process.cwd()]) {
    assert.ok(!existsSync(join(d, MARKER)), `${join(d, MARKER)} was written`);
  }
}

describe("hostile image corpus: pull into a temp store", () => {
  let reg: MockRegistry;
  let honest: Honest;
  before(async () => {
    reg = await startMockRegistry();
    honest = await honestLayer();
    await pushImage(reg, "corpus/good", "v1", assembleImage([honest.layer]));
  });
  after(() => reg.close());

  CORPUS.forEach((c, i) => {
    test(c.name, async () => {
      const repo = `corpus/case${i}`;
      const image = await c.build(honest);
      await pushImage(reg, repo, "v1", image);
      if (c.modes) reg.setModes(c.modes(honest), repo);
      const parent = await mkdtemp(join(tmpdir(), "chunkpull-corpus-"));
      const store = await openStore(join(parent, "store"));
      const client = testClient();
      try {
        const outcome = await pull(`${reg.host}/${repo}:v1`, {
          store,
          client,
          strictFormat: c.strict ?? false,
          verify: c.verify ?? "diff-id",
        }).then(
          (r) => ({ ok: r }),
          (e: unknown) => ({ err: e }),
        );
        if ("code" in c.outcome) {
          assert.ok("err" in outcome, `the hostile image was accepted: ${JSON.stringify(outcome)}`);
          const err = outcome.err;
          assert.ok(err instanceof ChunkpullError, `not a typed error: ${String(err)}`);
          assert.equal(err.code, c.outcome.code, err.message);
          if (c.message) assert.match(err.message, c.message);
          assert.deepEqual(await store.listLayers(), [], "nothing kept as verified");
        } else {
          assert.ok("ok" in outcome, `pull failed: ${String((outcome as { err: unknown }).err)}`);
          const layer = outcome.ok.layers[0]!;
          assert.equal(layer.verified, c.verify ?? "diff-id");
          assert.equal(layer.mode, "full" in c.outcome ? "full" : "partial");
          const stored = await store.getLayer(layer.diffId);
          assert.ok(stored, "the proven layer is recorded");
        }
        assert.deepEqual(await readdir(parent), ["store"], "nothing written next to the store");
        noMarkerAround(parent);

        const good = await pull(`${reg.host}/corpus/good:v1`, { store, client });
        assert.equal(good.layers[0]!.verified, "diff-id");
        assert.ok(await store.getLayer(honest.layer.diffId));
      } finally {
        await client.close();
        await rm(parent, { recursive: true, force: true });
      }
    });
  });
});
