/**
 * Every layer strategy of the pipeline, run over a local blob file (no HTTP): the layer context
 * takes a blob opener, so each path (tar-split, frames, members, TOC, full, and the answers of
 * a Range-ignoring origin) is exercised with a file source and checked against the diff_id and
 * the store's record.
 */
import assert from "node:assert/strict";
import { createReadStream, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { type BuiltLayer, buildLayer } from "../../mock-registry/src/image/build.js";
import { appLayerFiles, makeTar } from "../../mock-registry/src/image/sample-app.js";
import { type Digest, digestOf } from "../../src/digest.js";
import { openFileSource } from "../../src/formats/file-source.js";
import type { RangeSource } from "../../src/formats/layer-index.js";
import type { LayerBlob } from "../../src/pull/blob-access.js";
import { resolvePullConfig } from "../../src/pull/config.js";
import { pullLayer } from "../../src/pull/layer.js";
import type { PullOptions } from "../../src/pull/types.js";
import { RangeIgnoredError } from "../../src/registry/errors.js";
import { VerifyingStream } from "../../src/registry/verify-stream.js";
import type { Store } from "../../src/store/store.js";
import { CASES, VECTORS } from "../helpers/vectors.js";
import { APP_SCALE, freshStore, tempDir } from "./helpers.js";

const dirs: string[] = [];
const files: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const f of files) await f.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

interface Opened {
  blob: LayerBlob;
  /** Whole-blob streams opened (a full pull, or an answer taken). */
  opened: number;
  /** Range reads that reached the file. */
  reads: number;
}

/**
 * A LayerBlob over a file. `ignoreRange`: every range read is answered like an origin that
 * ignores Range would, with the whole blob (taken as a stream, or dropped).
 */
async function fileBlob(layer: BuiltLayer, opts: { ignoreRange?: boolean } = {}): Promise<Opened> {
  const dir = await tempDir();
  dirs.push(dir);
  const path = join(dir, "blob");
  await writeFile(path, layer.blob);
  const file = await openFileSource(path);
  files.push(file);
  const o: Opened = { blob: undefined as unknown as LayerBlob, opened: 0, reads: 0 };
  const whole = () => {
    o.opened++;
    const verifier = new VerifyingStream(layer.descriptor.digest, layer.blob.length, "blob");
    return createReadStream(path).pipe(verifier);
  };
  const counted = (src: RangeSource): RangeSource => ({
    size: src.size,
    read: (ranges, signal) => {
      o.reads++;
      return src.read(ranges, signal);
    },
  });
  const ranges: RangeSource = opts.ignoreRange
    ? {
        size: file.size,
        read: async () => {
          throw new RangeIgnoredError("the registry ignores Range (test)", {
            stream: () => whole(),
            discard: () => {},
          });
        },
      }
    : counted(file);
  o.blob = {
    ranges,
    collect: counted(file),
    open: async () => whole(),
    release: () => {},
  };
  return o;
}

async function pullOne(
  layer: BuiltLayer,
  store: Store,
  blob: LayerBlob,
  options: PullOptions = {},
): ReturnType<typeof pullLayer> {
  return pullLayer(
    { cfg: resolvePullConfig(options), store, blobs: () => blob, progress: () => {} },
    layer.descriptor,
    layer.diffId,
  );
}

function v1VectorLayer(name: string): BuiltLayer {
  const info = CASES[name]!.blobs["zstdchunked-v1"]!;
  const blob = readFileSync(join(VECTORS, name, "zstdchunked-v1.blob"));
  return {
    blob,
    diffId: info.layer_diff_id as Digest,
    descriptor: {
      mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
      digest: digestOf(blob),
      size: blob.length,
      annotations: info.annotations,
    },
  };
}

const appTar = (v: number) => makeTar(appLayerFiles(v, APP_SCALE));

describe("the layer pipeline over a local blob file", { concurrency: true }, () => {
  test("tar-split: cold, then the next version takes unchanged files from the store", async () => {
    const { dir, store } = await freshStore();
    dirs.push(dir);
    const v1 = await buildLayer(appTar(1), "zstd:chunked");
    const v2 = await buildLayer(appTar(2), "zstd:chunked");
    const r1 = await pullOne(v1, store, (await fileBlob(v1)).blob);
    assert.equal(r1.mode, "partial");
    assert.equal(r1.verified, "diff-id");
    assert.equal(r1.filesFromStore, 0);
    const b2 = await fileBlob(v2);
    const r2 = await pullOne(v2, store, b2.blob);
    assert.equal(r2.mode, "partial");
    assert.ok(r2.filesFromStore > 0 && r2.filesFromStore < r2.filesTotal, JSON.stringify(r2));
    assert.equal(b2.opened, 0, "no whole-blob read");
    assert.equal((await store.getLayer(v2.diffId))?.record.verified, "diff-id");
    // Already in the store: nothing read, and the counters say what the record holds.
    const b3 = await fileBlob(v2);
    const r3 = await pullOne(v2, store, b3.blob);
    assert.equal(r3.mode, "cached");
    assert.equal(b3.reads, 0);
    assert.equal(r3.filesTotal, r2.filesTotal);
    assert.equal(r3.filesFromStore, r3.filesTotal);
  });

  test("frames: zstd:chunked without a tar-split is rebuilt from the frames between files", async () => {
    const { dir, store } = await freshStore();
    dirs.push(dir);
    const layer = v1VectorLayer("rootfs");
    const r = await pullOne(layer, store, (await fileBlob(layer)).blob);
    assert.equal(r.mode, "partial");
    assert.equal(r.verified, "diff-id");
    const stored = await store.getLayer(layer.diffId);
    assert.ok(stored, "recorded");
    assert.ok(readFileSync(stored.tarSplitPath).length > 0, "a tar-split was built on the way");
  });

  test("toc-headers: eStargz is full when the store holds too little, else partial", async () => {
    const { dir, store } = await freshStore();
    dirs.push(dir);
    const info = CASES.bigfile!.blobs.estargz!;
    const blob = readFileSync(join(VECTORS, "bigfile", "estargz.blob"));
    const estargz: BuiltLayer = {
      blob,
      diffId: info.layer_diff_id as Digest,
      descriptor: {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: digestOf(blob),
        size: blob.length,
        annotations: info.annotations,
      },
    };
    const cold = await freshStore();
    dirs.push(cold.dir);
    const r0 = await pullOne(estargz, cold.store, (await fileBlob(estargz)).blob);
    assert.equal(r0.mode, "full");
    assert.match(r0.fallbackReason ?? "", /store holds only/);
    // The same files through a gzip layer first: the tar is regenerated from the TOC and the
    // files the store holds.
    const input = readFileSync(join(VECTORS, "bigfile", "input.tar"));
    const gz = await buildLayer(input, "gzip");
    await pullOne(gz, store, (await fileBlob(gz)).blob);
    const b = await fileBlob(estargz);
    const r = await pullOne(estargz, store, b.blob);
    assert.equal(r.mode, "partial", r.fallbackReason);
    assert.equal(r.verified, "diff-id");
    assert.equal(r.filesFromStore, r.filesTotal);
    assert.equal(b.opened, 0);
  });

  test("toc: eStargz under verify toc is accepted on its TOC digest", async () => {
    const { dir, store } = await freshStore();
    dirs.push(dir);
    const layer = await buildLayer(appTar(1), "estargz");
    const r = await pullOne(layer, store, (await fileBlob(layer)).blob, { verify: "toc" });
    assert.equal(r.mode, "partial");
    assert.equal(r.verified, "toc");
    assert.equal((await store.getLayer(layer.diffId))?.record.verified, "toc");
  });

  test("full: a gzip layer streams through the full pull and reports files the store had", async () => {
    const { dir, store } = await freshStore();
    dirs.push(dir);
    const gz = await buildLayer(appTar(2), "gzip");
    const zc = await buildLayer(appTar(1), "zstd:chunked");
    await pullOne(zc, store, (await fileBlob(zc)).blob);
    const b = await fileBlob(gz);
    const r = await pullOne(gz, store, b.blob);
    assert.equal(r.mode, "full");
    assert.equal(b.opened, 1);
    assert.ok(r.filesFromStore > 0, "the same files were already stored");
  });

  test("Range ignored at discovery: the whole-blob answer is the full pull", async () => {
    const { dir, store } = await freshStore();
    dirs.push(dir);
    const layer = await buildLayer(appTar(1), "zstd:chunked");
    const b = await fileBlob(layer, { ignoreRange: true });
    const r = await pullOne(layer, store, b.blob);
    assert.equal(r.mode, "full");
    assert.match(r.fallbackReason ?? "", /ignores Range/);
    assert.equal(b.opened, 1, "the answer taken, no second download");
    assert.ok(await store.getLayer(layer.diffId));
  });

  test("a failure names its layer and keeps the original as cause", async () => {
    const { dir, store } = await freshStore();
    dirs.push(dir);
    const layer = await buildLayer(appTar(1), "zstd:chunked");
    // A flipped byte inside the first file's compressed data.
    const damaged = { ...layer, blob: Buffer.from(layer.blob) };
    damaged.blob[5000] = damaged.blob[5000]! ^ 0xff;
    const err = await pullOne(layer, store, (await fileBlob(damaged)).blob).then(
      () => assert.fail("accepted a damaged blob"),
      (e: Error) => e,
    );
    assert.ok(["EFORMAT", "EDIGEST"].includes((err as { code?: string }).code ?? ""), String(err));
    assert.match(
      err.message,
      new RegExp(`^layer ${layer.descriptor.digest}: "[^"]+" chunk \\d+: `),
    );
    // The original error, untouched, is the cause.
    assert.ok(err.cause instanceof Error);
    assert.ok(!err.cause.message.startsWith("layer "), err.cause.message);
    assert.equal(await store.getLayer(layer.diffId), undefined);
  });
});
