/**
 * eStargz update pulls under the diff-id policy with the tar headers regenerated from the TOC:
 * against the mock registry, an update fetches about the ideal bytes (compressed TOC + the
 * changed files' chunks, counted by the mock) and is proven by the diff_id; a TOC that lies
 * about one header field falls back to the members strategy (after the diff_id misses, or at
 * once when the landmark-member probe sees it) and still verifies; so does the reference vector
 * whose input headers a TOC cannot describe (pax).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { chmod, open, readFile, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { assembleImage, type BuiltLayer, buildLayer } from "../../mock-registry/src/image/build.js";
import { binaryContent, makeTar, type TarFile } from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { createHasher, type Digest, digestOf } from "../../src/digest.js";
import { encodeEstargzFooter } from "../../src/formats/estargz/footer.js";
import {
  type EstargzLayer,
  openEstargz,
  TOC_DIGEST_ANNOTATION,
  UNCOMPRESSED_SIZE_ANNOTATION,
} from "../../src/formats/estargz/reader.js";
import { encodeTocJson } from "../../src/formats/estargz/toc-encode.js";
import { encodeTocTar } from "../../src/formats/estargz/toc-tar.js";
import { storedLayerTar } from "../../src/output/layer-tar.js";
import { pull } from "../../src/pull/pull.js";
import type { ProgressEvent } from "../../src/pull/types.js";
import { OBJECT_STAMP_S } from "../../src/store/objects.js";
import type { Store } from "../../src/store/store.js";
import { CASES, VECTORS } from "../helpers/vectors.js";
import { bufferSource, freshStore, pushTo, served, testClient, unionLength } from "./helpers.js";

const FILES = 300;
const CHANGED_EVERY = 10; // 10% of the files change in v2

function appFiles(version: number): TarFile[] {
  const files: TarFile[] = [
    { name: "srv/", type: "5" },
    { name: "srv/data/", type: "5" },
  ];
  // Three 4 MiB chunks: the members strategy can skip the first two when it has to run.
  files.push({ name: "srv/big.bin", data: binaryContent(9 << 20, 77) });
  for (let i = 0; i < FILES; i++) {
    const changed = version > 1 && i % CHANGED_EVERY === 7;
    const size = 16_000 + ((i * 7919) % 16_000);
    files.push({
      name: `srv/data/f${i}.bin`,
      data: binaryContent(size, 1000 + i + (changed ? 99_991 : 0)),
    });
    if (i % 50 === 0) files.push({ name: `srv/data/link${i}`, type: "2", linkname: `f${i}.bin` });
  }
  return files;
}

async function opened(layer: BuiltLayer): Promise<EstargzLayer> {
  return openEstargz(bufferSource(layer.blob), { annotations: layer.descriptor.annotations });
}

/** Compressed TOC member + footer, plus the union of the chunks of v2 files v1 does not hold. */
async function idealUpdateBytes(v1: BuiltLayer, v2: BuiltLayer): Promise<number> {
  const [a, b] = [await opened(v1), await opened(v2)];
  const held = new Set(a.files.flatMap((f) => [f.digest, ...f.chunks.map((c) => c.digest)]));
  const missing: Array<[number, number]> = [];
  for (const f of b.files) {
    if (held.has(f.digest)) continue;
    for (const c of f.chunks) if (!held.has(c.digest)) missing.push([c.offset, c.end]);
  }
  assert.ok(missing.length >= FILES / CHANGED_EVERY, `${missing.length} chunks changed`);
  return v2.blob.length - b.footer.tocOffset + unionLength(missing);
}

/** The same layer with its TOC changed by `edit` (a lie about headers the blob still holds). */
async function withLyingToc(
  layer: BuiltLayer,
  edit: (entries: EstargzLayer["toc"]["entries"]) => void,
): Promise<BuiltLayer> {
  const l = await opened(layer);
  edit(l.toc.entries);
  const json = encodeTocJson(l.toc);
  const tocOffset = l.footer.tocOffset;
  const blob = Buffer.concat([
    layer.blob.subarray(0, tocOffset),
    gzipSync(encodeTocTar(json), { level: 9 }),
    encodeEstargzFooter(tocOffset),
  ]);
  const tar = gunzipSync(blob);
  return {
    blob,
    diffId: digestOf(tar),
    descriptor: {
      ...layer.descriptor,
      digest: digestOf(blob),
      size: blob.length,
      annotations: {
        ...layer.descriptor.annotations,
        [TOC_DIGEST_ANNOTATION]: digestOf(json),
        [UNCOMPRESSED_SIZE_ANNOTATION]: String(tar.length),
      },
    },
  };
}

async function exportsTo(store: Store, diffId: Digest) {
  const h = createHasher();
  for await (const piece of storedLayerTar(store, diffId)) h.update(piece);
  assert.equal(h.digest(), diffId, "the stored layer exports to its diff_id");
}

describe("eStargz update pulls with headers from the TOC", () => {
  let reg: MockRegistry;
  let v1: BuiltLayer;
  let v2: BuiltLayer;
  before(async () => {
    reg = await startMockRegistry();
    v1 = await buildLayer(makeTar(appFiles(1)), "estargz");
    v2 = await buildLayer(makeTar(appFiles(2)), "estargz");
    await pushTo(reg, "esgz/app", "v1", assembleImage([v1]));
    await pushTo(reg, "esgz/app", "v2", assembleImage([v2]));
    // v2 whose TOC moves the last file's modtime: the diff_id shows it, not the probe.
    const lateLie = await withLyingToc(v2, (entries) => {
      const last = entries.findLast((e) => e.type === "reg")!;
      last.modtime = "2001-02-03T04:05:06Z";
    });
    await pushTo(reg, "esgz/late-lie", "v2", assembleImage([lateLie]));
    // ... and whose TOC lies about the first directory, which the landmark member holds.
    const earlyLie = await withLyingToc(v2, (entries) => {
      const dir = entries.find((e) => e.type === "dir")!;
      dir.modtime = "2001-02-03T04:05:06Z";
    });
    await pushTo(reg, "esgz/early-lie", "v2", assembleImage([earlyLie]));
  });
  after(() => reg.close());

  async function update(
    repo: string,
    events: ProgressEvent[],
    between?: (s: Store) => Promise<void>,
  ) {
    const { dir, store } = await freshStore();
    const client = testClient();
    try {
      await pull(`${reg.host}/esgz/app:v1`, { store, client });
      await between?.(store);
      reg.resetStats();
      const r = await pull(`${reg.host}/${repo}:v2`, {
        store,
        client,
        onProgress: (e) => events.push(e),
      });
      const l = r.layers[0]!;
      await exportsTo(store, r.layers[0]!.diffId);
      return { l, s: served(reg, l.digest) };
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("a 10% update fetches <= 1.1x the TOC plus the changed chunks and is proven by the diff_id", async () => {
    const events: ProgressEvent[] = [];
    const { l, s } = await update("esgz/app", events);
    const ideal = await idealUpdateBytes(v1, v2);
    assert.equal(l.format, "estargz");
    assert.equal(l.mode, "partial", l.fallbackReason);
    assert.equal(l.verified, "diff-id");
    assert.ok(l.filesFromStore >= FILES * 0.85, `${l.filesFromStore} files from the store`);
    const messages = events.map((e) => e.message).join("\n");
    assert.match(messages, /headers regenerated from the TOC \(go format\); no member fetched/);
    assert.doesNotMatch(messages, /members with the tar headers fetched/);
    assert.ok(s.bytesSent >= ideal - (64 << 10), `served ${s.bytesSent}, ideal ${ideal}`);
    assert.ok(
      s.bytesSent <= ideal * 1.1,
      `served ${s.bytesSent} in ${s.requests} requests, ideal ${ideal} (${(s.bytesSent / ideal).toFixed(3)}x)`,
    );
    console.log(
      `# eStargz 10% update: served ${s.bytesSent}, ideal ${ideal}, ratio ${(s.bytesSent / ideal).toFixed(3)}, layer ${l.size}`,
    );
  });

  it("a TOC that lies about a late modtime misses the diff_id, then the members verify", async () => {
    const events: ProgressEvent[] = [];
    const { l } = await update("esgz/late-lie", events);
    assert.equal(l.verified, "diff-id");
    const messages = events.map((e) => e.message).join("\n");
    assert.match(messages, /headers regenerated from the TOC/);
    assert.match(
      messages,
      /the tar regenerated from the TOC misses the diff_id; estargz, \d+ chunks/,
    );
    assert.match(messages, /members with the tar headers fetched/);
    assert.doesNotMatch(messages, /checking every (file|chunk) the store held/, "no careful run");
    assert.equal(l.mode, "partial");
    assert.ok(l.chunksFromStore >= 2, `${l.chunksFromStore} chunks from the store`);
  });

  it("a lie in the landmark member's headers goes to the members at once", async () => {
    const events: ProgressEvent[] = [];
    const { l } = await update("esgz/early-lie", events);
    assert.equal(l.verified, "diff-id");
    const messages = events.map((e) => e.message).join("\n");
    assert.doesNotMatch(messages, /headers regenerated from the TOC/);
    assert.match(
      messages,
      /landmark's member are not the ones the TOC describes; estargz, \d+ chunks/,
    );
    assert.equal(l.mode, "partial");
  });

  it("a held object rotten under its stamp: toc-headers, members, careful members, then healed", async () => {
    const events: ProgressEvent[] = [];
    const big = (await opened(v2)).files.find((f) => f.name === "srv/big.bin")!;
    const { l } = await update("esgz/app", events, async (store) => {
      // Bit rot in the first (non-last) chunk, which the members strategy takes from the store.
      const path = store.objectPath(big.digest);
      await chmod(path, 0o644);
      const fh = await open(path, "r+");
      await fh.write(Buffer.from([0xff ^ (await readFile(path))[0]!]), 0, 1, 0);
      await fh.close();
      await utimes(path, OBJECT_STAMP_S, OBJECT_STAMP_S);
    });
    assert.equal(l.verified, "diff-id");
    const messages = events.map((e) => e.message).join("\n");
    assert.match(messages, /the tar regenerated from the TOC misses the diff_id/);
    assert.match(messages, /checking every chunk the store held/);
    assert.match(messages, /damaged in the store \(removed; pull again\); planning again/);
  });

  it("the pax vector (headers a TOC cannot describe) falls back and still verifies", async () => {
    const name = "pax";
    const info = CASES[name]!.blobs["estargz"]!;
    const blob = readFileSync(join(VECTORS, name, "estargz.blob"));
    const layer: BuiltLayer = {
      blob,
      diffId: info.layer_diff_id as Digest,
      descriptor: {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: digestOf(blob),
        size: blob.length,
        annotations: info.annotations,
      },
    };
    const input = readFileSync(join(VECTORS, name, "input.tar"));
    await pushTo(reg, "esgz/pax", "gzip", assembleImage([await buildLayer(input, "gzip")]));
    await pushTo(reg, "esgz/pax", "estargz", assembleImage([layer]));
    const { dir, store } = await freshStore();
    try {
      await pull(`${reg.host}/esgz/pax:gzip`, { store, client: testClient() });
      const events: ProgressEvent[] = [];
      const r = await pull(`${reg.host}/esgz/pax:estargz`, {
        store,
        client: testClient(),
        onProgress: (e) => events.push(e),
      });
      assert.equal(r.layers[0]!.verified, "diff-id");
      const messages = events.map((e) => e.message).join("\n");
      // The probe or the diff_id rules out the TOC's headers; the layer never counts as rebuilt
      // from them.
      assert.match(messages, /not the ones the TOC describes|misses the diff_id|cannot|full pull/);
      await exportsTo(store, info.layer_diff_id as Digest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
