/**
 * Cold pulls: a chunked layer of COLD_STREAM_MIN_BYTES or more into a store holding no objects
 * is taken as one streamed GET (full-pull path), still verified by its diff_id; the next
 * version then pulls partially against what it stored.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import {
  assembleImage,
  type BuiltLayer,
  buildLayer,
  pushImage,
} from "../../mock-registry/src/image/build.js";
import {
  binaryContent,
  makeTar,
  type TarFile,
  textContent,
} from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import type { Digest } from "../../src/digest.js";
import { digestOf } from "../../src/digest.js";
import { openChunkedLayer } from "../../src/formats/open.js";
import { openStore } from "../../src/index.js";
import { COLD_STREAM_MIN_BYTES } from "../../src/pull/config.js";
import { pull } from "../../src/pull/pull.js";
import { readPointer } from "../../src/store/chunks.js";
import { joinChunked, splitChunked } from "../hostile/tamper.js";
import { blobRequests, bufferSource, tempDir } from "./helpers.js";

/** 40 files of 160 KiB (mostly incompressible, so the blob passes the cold threshold). */
function files(version: number): TarFile[] {
  const out: TarFile[] = [{ name: "app/", type: "5" }];
  for (let i = 0; i < 40; i++) {
    const seed = i + (version > 1 && i % 10 === 0 ? 1000 * version : 0) + 1;
    const data = i % 4 ? binaryContent(160 << 10, seed) : textContent(160 << 10, seed);
    out.push({ name: `app/f${i}`, data });
  }
  return out;
}

describe("cold pull into an empty store", () => {
  let reg: MockRegistry;
  let dir: string;
  const layers: BuiltLayer[] = [];
  before(async () => {
    reg = await startMockRegistry();
    dir = await tempDir();
    for (const v of [1, 2]) {
      const layer = await buildLayer(makeTar(files(v)), "zstd:chunked");
      layers.push(layer);
      await pushImage(reg, "cold/app", `v${v}`, assembleImage([layer]));
    }
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("one streamed GET, verified by the diff_id; then a partial update", async () => {
    const v1 = layers[0]!;
    assert.ok(v1.descriptor.size >= COLD_STREAM_MIN_BYTES, `layer ${v1.descriptor.size} bytes`);
    const store = `${dir}/store`;
    const events: string[] = [];
    const r1 = await pull(`${reg.host}/cold/app:v1`, {
      store,
      plainHttp: true,
      onProgress: (e) => events.push(e.message),
    });
    const l1 = r1.layers[0]!;
    assert.equal(l1.mode, "full");
    assert.equal(l1.verified, "diff-id");
    assert.equal(l1.fallbackReason, undefined);
    assert.ok(events.some((m) => m.includes("one streamed GET")));
    // Discovery reads the TOC with ranges; the payload then comes in exactly one plain GET.
    const whole = blobRequests(reg, v1.descriptor.digest).filter((r) => !r.range);
    assert.equal(whole.length, 1);
    const s = await openStore(store);
    const stats = await s.stats();
    assert.equal(stats.tempFiles, 0);
    assert.equal(stats.objects, 40);
    assert.ok(await s.getLayer(v1.diffId));

    reg.resetStats();
    const r2 = await pull(`${reg.host}/cold/app:v2`, { store, plainHttp: true });
    const l2 = r2.layers[0]!;
    assert.equal(l2.mode, "partial");
    assert.equal(l2.verified, "diff-id");
    assert.ok(l2.filesFromStore >= 30, `${l2.filesFromStore} files from the store`);
    assert.ok(l2.bytesFetched < l2.size / 3, `fetched ${l2.bytesFetched} of ${l2.size}`);
  });
});

/** The chunk digests a layer's TOC lists for its files of more than one chunk. */
async function listedChunks(layer: BuiltLayer): Promise<Map<string, Digest[]>> {
  const opened = await openChunkedLayer(bufferSource(layer.blob), layer.descriptor.annotations, {
    mediaType: layer.descriptor.mediaType,
  });
  const out = new Map<string, Digest[]>();
  for (const f of opened.files) {
    const ds = f.chunks.filter((c) => c.digest && c.digest !== f.digest).map((c) => c.digest!);
    if (ds.length > 1) out.set(f.name.replace(/^\//, ""), ds);
  }
  return out;
}

describe("cold pull: chunk pointers from the TOC", () => {
  let reg: MockRegistry;
  let dir: string;
  before(async () => {
    reg = await startMockRegistry();
    dir = await tempDir();
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("an eStargz layer's fixed-size chunks become the store's pointers, not the chunker's", async () => {
    // eStargz cuts files every 4 MiB; the rolling chunker never cuts there, so only pointers
    // taken from the TOC can name these chunks.
    const big = binaryContent(9 << 20, 77);
    const tar = makeTar([{ name: "bin/", type: "5" }, { name: "bin/big", data: big }, ...files(1)]);
    const layer = await buildLayer(tar, "estargz");
    await pushImage(reg, "cold/esgz", "v1", assembleImage([layer]));
    const listed = await listedChunks(layer);
    const chunks = listed.get("bin/big");
    assert.equal(chunks?.length, 3, "the TOC lists three chunks of bin/big");

    const store = `${dir}/esgz`;
    const r = await pull(`${reg.host}/cold/esgz:v1`, { store, plainHttp: true });
    assert.equal(r.layers[0]!.mode, "full");
    const s = await openStore(store);
    const object = digestOf(big);
    let offset = 0;
    for (const [i, d] of chunks!.entries()) {
      const pointer = await readPointer(s.layout, d);
      assert.deepEqual(
        pointer,
        { object, offset, length: i < 2 ? 4 << 20 : 1 << 20 },
        `chunk ${i}`,
      );
      assert.deepEqual(await s.findChunk(d), big.subarray(offset, offset + pointer!.length));
      offset += pointer!.length;
    }
  });

  test("a TOC that lies about a chunk digest costs a miss and a fetch, never a wrong byte", async () => {
    const a = binaryContent(3 << 20, 5);
    const a2 = Buffer.from(a);
    a2.fill(0x5a, 1 << 20, (1 << 20) + 20_000); // v2 changes the middle of the file
    const filler = binaryContent(3 << 20, 6);
    const tarOf = (data: Buffer) =>
      makeTar([
        { name: "app/", type: "5" },
        { name: "app/a", data },
        { name: "app/filler", data: filler },
      ]);
    const honest1 = await buildLayer(tarOf(a), "zstd:chunked");
    const v2 = await buildLayer(tarOf(a2), "zstd:chunked");
    const v1Chunks = new Set((await listedChunks(honest1)).get("app/a"));
    const wanted = (await listedChunks(v2)).get("app/a")!.filter((d) => !v1Chunks.has(d));
    assert.ok(wanted.length > 0, "v2 has chunks v1 lacks");
    // v1's TOC claims that its first chunk of app/a is one v2 needs (with every digest and
    // position recomputed, as a hostile registry would).
    const parts = await splitChunked(honest1);
    const first = parts.toc.entries.find(
      (e: { name: string; chunkDigest?: string }) => e.name === "app/a" && e.chunkDigest,
    );
    first.chunkDigest = wanted[0];
    const lying = await joinChunked(parts, honest1.diffId);
    await pushImage(reg, "cold/lie", "v1", assembleImage([lying]));
    await pushImage(reg, "cold/lie", "v2", assembleImage([v2]));

    const store = `${dir}/lie`;
    const r1 = await pull(`${reg.host}/cold/lie:v1`, { store, plainHttp: true });
    assert.equal(r1.layers[0]!.mode, "full");
    const s = await openStore(store);
    // The lie was recorded as a pointer (a hint): it points at v1's bytes, not at the chunk.
    assert.deepEqual((await readPointer(s.layout, wanted[0]!))?.object, digestOf(a));

    const r2 = await pull(`${reg.host}/cold/lie:v2`, { store, plainHttp: true });
    const l2 = r2.layers[0]!;
    assert.equal(l2.mode, "partial");
    assert.equal(l2.verified, "diff-id");
    // The bad pointer was dropped on use and the chunk fetched: the object is v2's file exactly.
    const got = await s.findChunk(wanted[0]!);
    assert.ok(got === undefined || digestOf(got) === wanted[0]);
    const stored: Buffer[] = [];
    for await (const b of await s.openObject(digestOf(a2))) stored.push(b);
    assert.ok(Buffer.concat(stored).equals(a2));
  });
});
