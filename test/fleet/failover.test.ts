/**
 * The walk over endpoints with mock registries: a mirror answering 5xx, a mirror without the
 * image (404) and a mirror sending wrong bytes are each passed over, in order, to the origin;
 * a blocked registry is refused before any request.
 */
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { pull } from "../../src/pull/pull.js";
import { parseReference } from "../../src/reference.js";
import { BlockedRegistryError } from "../../src/registry/mirrors.js";
import { warm } from "../../src/registry/warm.js";
import { pushTo, type SampleImages, sampleImages, tempDir } from "../pull/helpers.js";
import { fleetClient } from "./helpers.js";

describe("failover across mirrors (mock registries)", () => {
  let origin: MockRegistry;
  let failing: MockRegistry;
  let empty: MockRegistry;
  let lying: MockRegistry;
  let images: SampleImages;
  let dir: string;
  let conf: string;
  before(async () => {
    images = await sampleImages("zstd:chunked");
    origin = await startMockRegistry();
    failing = await startMockRegistry({
      modes: { serverErrors: { count: 1_000_000, status: 503 } },
    });
    empty = await startMockRegistry();
    lying = await startMockRegistry();
    await pushTo(origin, "f/app", "v1", images.v1);
    await pushTo(lying, "f/app", "v1", images.v1);
    lying.setModes({ corruptByteAt: 0 }); // every blob, the config included, is wrong
    dir = await tempDir();
    conf = join(dir, "registries.conf");
    await writeFile(
      conf,
      [
        `[[registry]]\nprefix = "${origin.host}"`,
        ...[failing, empty, lying].map((m) => `[[registry.mirror]]\nlocation = "${m.host}"`),
        `[[registry]]\nprefix = "blocked.example"\nblocked = true\n`,
      ].join("\n"),
    );
  });
  after(async () => {
    for (const r of [origin, failing, empty, lying]) await r?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("5xx, 404 and wrong bytes are passed over; the origin serves, every byte verified", async () => {
    const client = fleetClient({ registriesConf: conf });
    try {
      const ref = parseReference(`${origin.host}/f/app:v1`);
      const image = await client.resolveImage(ref, {
        platform: { os: "linux", architecture: "amd64" },
      });
      assert.equal(image.manifestDigest, images.v1.manifestDigest);
      assert.ok(failing.stats().totals.requests > 0);
      assert.ok(empty.stats().totals.manifestRequests > 0);
      // The config came from the liar first (wrong), then from the origin.
      assert.ok(lying.stats().totals.blobRequests > 0);
      const w = await warm(ref.toString(), { client });
      for (const b of w.blobs) assert.equal(b.host, origin.host);
      assert.ok(
        (w.hosts[lying.host]?.bytesReceived ?? 0) > 0,
        "the liar's bytes were read and refused",
      );
    } finally {
      await client.close();
    }
  });

  test("a blocked registry is refused with a usage error", async () => {
    const client = fleetClient({ registriesConf: conf });
    try {
      await assert.rejects(
        pull("blocked.example/a/b:1", { client, store: join(dir, "store") }),
        (e: unknown) => e instanceof BlockedRegistryError && e.code === "EUSAGE",
      );
    } finally {
      await client.close();
    }
  });
});
