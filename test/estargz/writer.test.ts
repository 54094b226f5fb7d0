import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { createHasher, digestOf } from "../../src/digest.js";
import { openEstargz } from "../../src/formats/estargz/reader.js";
import { rebuildEstargzTar } from "../../src/formats/estargz/rebuild.js";
import type { TocEntry } from "../../src/formats/estargz/toc.js";
import { encodeTocJson } from "../../src/formats/estargz/toc-encode.js";
import { convertToEstargz } from "../../src/formats/estargz/writer.js";
import { readTar } from "../../src/formats/tar/reader.js";
import { CASES, hasVector, memorySource, vector, vectorFile } from "./helpers.js";
import { pieces, tarOf } from "./tar-fixtures.js";

async function convert(tar: Buffer, opts: { chunkSize?: number; piece?: number } = {}) {
  const parts: Buffer[] = [];
  // Level 9 (the default) on the multi-MiB vectors costs seconds and tests nothing more.
  const level = tar.length > 1 << 20 ? 1 : undefined;
  const result = await convertToEstargz(
    pieces(tar, opts.piece ?? 65536),
    (b) => {
      parts.push(Buffer.from(b));
    },
    { chunkSize: opts.chunkSize, level },
  );
  return { blob: Buffer.concat(parts), result };
}

const withoutOffsets = (entries: TocEntry[]) =>
  entries.map(({ offset: _o, ...rest }) => rest as Omit<TocEntry, "offset">);

/** Every entry of a tar: header fields that matter and a digest of the payload. */
async function tarEntries(tar: Buffer) {
  const out: Array<Record<string, unknown>> = [];
  let hash = createHasher();
  let current: Record<string, unknown> | undefined;
  const flush = () => {
    if (current) current.data = hash.digest();
  };
  for await (const ev of readTar([tar])) {
    if (ev.type === "entry") {
      flush();
      const h = ev.header;
      current = {
        name: h.name,
        typeflag: h.typeflag,
        linkname: h.linkname,
        mode: h.mode & 0o7777,
        uid: h.uid,
        gid: h.gid,
        uname: h.uname,
        gname: h.gname,
        size: h.size,
        mtime: h.mtime.sec,
        dev: `${h.devmajor}:${h.devminor}`,
        xattrs: [...h.xattrs].map(([k, v]) => `${k}=${v.toString("hex")}`).sort(),
      };
      out.push(current);
      hash = createHasher();
    } else if (ev.type === "data") hash.update(ev.data);
  }
  flush();
  return out;
}

describe("convertToEstargz on every reference input.tar", () => {
  for (const name of CASES.filter((c) => hasVector(c, "estargz"))) {
    it(`${name}: TOC = reference except offsets, members, diff_id, annotations`, async () => {
      const { blob, result } = await convert(vectorFile(name, "input.tar"));
      const ref = vector(name, "estargz");
      assert.equal(result.blobSize, blob.length);
      assert.equal(result.blobDigest, digestOf(blob));

      const layer = await openEstargz(memorySource(blob), { annotations: result.annotations });
      assert.equal(layer.tocVerified, true);
      assert.equal(layer.tocDigest, result.tocDigest);
      assert.equal(
        digestOf(layer.tocJson),
        result.annotations["containerd.io/snapshot/stargz/toc.digest"],
      );
      const refJson = vectorFile(name, "estargz.toc.json");
      const refToc = JSON.parse(refJson.toString("utf8")) as { entries: TocEntry[] };
      assert.deepEqual(withoutOffsets(layer.toc.entries), withoutOffsets(refToc.entries));
      // With the reference's offsets, our TOC bytes are Go's bytes.
      const relocated = layer.toc.entries.map((e, i) => ({
        ...e,
        offset: refToc.entries[i]?.offset,
      }));
      assert.deepEqual(encodeTocJson({ version: 1, entries: relocated }), refJson);

      // Every member range (data chunks, the TOC member, the footer) inflates on its own.
      const cuts = [
        ...new Set([
          0,
          ...layer.toc.entries.flatMap((e) => e.offset ?? []),
          layer.dataEnd,
          blob.length - 51,
          blob.length,
        ]),
      ].sort((a, b) => a - b);
      const inflated = cuts.slice(1).map((end, i) => gunzipSync(blob.subarray(cuts[i], end)));
      const whole = gunzipSync(blob);
      assert.deepEqual(Buffer.concat(inflated), whole);
      assert.equal(result.diffId, digestOf(whole));
      assert.equal(result.uncompressedSize, whole.length);
      assert.equal(
        result.annotations["io.containers.estargz.uncompressed-size"],
        String(whole.length),
      );

      // Same entries as the reference blob's tar (landmark and stargz.index.json included).
      const refTar = gunzipSync(ref.blob);
      const mine = await tarEntries(whole);
      const theirs = await tarEntries(refTar);
      assert.deepEqual(mine.slice(0, -1), theirs.slice(0, -1));
      assert.equal(mine.at(-1)?.name, "stargz.index.json");
      assert.equal(theirs.at(-1)?.name, "stargz.index.json");

      // And the pull-side rebuild of our own blob reproduces our diff_id.
      const h = createHasher();
      for await (const p of rebuildEstargzTar(memorySource(blob), layer)) h.update(p);
      assert.equal(h.digest(), result.diffId);
    });
  }
});

describe("convertToEstargz details", () => {
  it("small chunks and tiny input pieces: chunk entries, every chunk verifies", async () => {
    const data = Buffer.from(Array.from({ length: 2600 }, (_, i) => i % 251));
    const tar = tarOf([
      { name: "dir/", typeflag: "5" },
      { name: "dir/exact", data: data.subarray(0, 2000) },
      { name: "dir/odd", data },
      { name: "dir/empty" },
    ]);
    const { blob, result } = await convert(tar, { chunkSize: 1000, piece: 7 });
    const src = memorySource(blob);
    const layer = await openEstargz(src, { annotations: result.annotations });
    const types = layer.toc.entries.map(
      (e) => `${e.type}:${e.chunkOffset ?? 0}:${e.chunkSize ?? 0}`,
    );
    assert.deepEqual(types, [
      "reg:0:0", // landmark
      "dir:0:0",
      "reg:0:1000",
      "chunk:1000:1000", // a full last chunk carries chunkSize (Go writer)
      "reg:0:1000",
      "chunk:1000:1000",
      "chunk:2000:0",
      "reg:0:0",
    ]);
    assert.equal(layer.toc.entries.at(-1)?.digest, digestOf(Buffer.alloc(0)));
    for (const f of layer.files) {
      const got: Buffer[] = [];
      for (const c of f.chunks) {
        const [bytes] = await src.read([{ offset: c.offset, length: c.end - c.offset }]);
        got.push(await layer.decodeChunk(bytes as Buffer, c));
      }
      assert.equal(digestOf(Buffer.concat(got)), f.digest);
    }
  });

  it("drops input landmarks and stargz.index.json, keeps everything else", async () => {
    const tar = tarOf([
      { name: "a.txt", data: "abc" },
      { name: "./stargz.index.json", data: "{}" },
      { name: ".prefetch.landmark", data: Buffer.from([0x0f]) },
      { name: "b.txt", data: "hi" },
    ]);
    const { blob, result } = await convert(tar);
    const layer = await openEstargz(memorySource(blob), { annotations: result.annotations });
    assert.deepEqual(
      layer.toc.entries.map((e) => e.name),
      [".no.prefetch.landmark", "a.txt", "b.txt"],
    );
    const names = (await tarEntries(gunzipSync(blob))).map((e) => e.name);
    assert.deepEqual(names, [".no.prefetch.landmark", "a.txt", "b.txt", "stargz.index.json"]);
  });

  it("an empty tar still gets the landmark", async () => {
    const { blob, result } = await convert(Buffer.alloc(1024));
    const layer = await openEstargz(memorySource(blob), { annotations: result.annotations });
    assert.deepEqual(
      layer.toc.entries.map((e) => e.name),
      [".no.prefetch.landmark"],
    );
    assert.equal(layer.files.length, 0, "landmarks are not layer files");
  });

  it("refuses PAX global headers like upstream", async () => {
    const tar = tarOf([{ name: "pax_global_header", data: "11 foo=bar\n", typeflag: "g" }]);
    await assert.rejects(convert(tar), { name: "UnsupportedError" });
  });
});

describe("convertToEstargz streams", () => {
  it("emits blob bytes long before the input ends", async () => {
    const size = 12 << 20;
    const tarHead = tarOf([{ name: "big.bin", data: Buffer.alloc(0) }]).subarray(0, 512);
    tarHead.write(`${size.toString(8).padStart(11, "0")}\0`, 124, "latin1");
    tarHead.write("        ", 148, "latin1");
    const sum = tarHead.reduce((a, b) => a + b, 0);
    tarHead.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    let consumed = 0;
    let emittedBeforeHalf = 0;
    async function* input() {
      yield tarHead;
      for (let i = 0; i < size; i += 1 << 20) {
        consumed += 1 << 20;
        yield Buffer.alloc(1 << 20, i & 0xff);
      }
      yield Buffer.alloc(1024);
    }
    const result = await convertToEstargz(
      input(),
      (b) => {
        if (consumed < size / 2) emittedBeforeHalf += b.length;
      },
      { level: 1 },
    );
    assert.ok(emittedBeforeHalf > 0, "output must flow while input is still being read");
    assert.ok(result.uncompressedSize > size);
  });
});
