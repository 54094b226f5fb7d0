/**
 * A full pull given the layer's TOC (the cold path): files take their chunks from it (no
 * chunker), also when the TOC only arrives after they streamed by, and a TOC that failed fails
 * the pull once the stream is done, leaving no temp file behind.
 */
import assert from "node:assert/strict";
import { readdir, rm } from "node:fs/promises";
import { describe, test } from "node:test";
import { binaryContent, makeTar } from "../../mock-registry/src/image/sample-app.js";
import { type Digest, digestOf } from "../../src/digest.js";
import { FormatError } from "../../src/errors.js";
import type { ChunkRef, FileRef } from "../../src/formats/layer-index.js";
import { indexTar, type TocOutcome } from "../../src/pull/full.js";
import { freshStore } from "./helpers.js";

const MiB = 1 << 20;
const big = binaryContent(3 * MiB, 11);
const other = binaryContent(2 * MiB, 12);
const small = Buffer.from("small file\n");
const tar = makeTar([
  { name: "./opt/", type: "5" },
  { name: "./opt/big", data: big },
  { name: "./opt/small", data: small },
  { name: "./opt/other", data: other },
]);

/** The TOC's view: `big` in three 1 MiB chunks; `other` not listed at all. */
function tocFiles(): FileRef[] {
  const chunks: ChunkRef[] = [0, 1, 2].map((i) => ({
    offset: 0,
    end: 0,
    fileOffset: i * MiB,
    size: MiB,
    digest: digestOf(big.subarray(i * MiB, (i + 1) * MiB)),
    zeros: false,
  }));
  return [
    { name: "/opt/big", size: big.length, digest: digestOf(big), chunks },
    {
      name: "/opt/small",
      size: small.length,
      digest: digestOf(small),
      chunks: [{ offset: 0, end: 0, fileOffset: 0, size: small.length, zeros: false }],
    },
  ];
}

/** The tar in 64 KiB pieces; `atEnd` runs once the last piece was taken. */
async function* pieces(atEnd?: () => void): AsyncGenerator<Buffer> {
  for (let i = 0; i < tar.length; i += 65536) yield tar.subarray(i, i + 65536);
  atEnd?.();
}

describe("full pull with the layer's TOC", () => {
  for (const when of ["known up front", "arriving after the stream"] as const) {
    test(`chunk pointers come from the TOC (${when})`, async () => {
      const { dir, store } = await freshStore();
      try {
        let arrive = () => {};
        const toc: readonly FileRef[] | Promise<TocOutcome> =
          when === "known up front"
            ? tocFiles()
            : new Promise<TocOutcome>((resolve) => {
                arrive = () => resolve({ files: tocFiles() });
              });
        const r = await indexTar(pieces(arrive), digestOf(tar), store, "test", { toc });
        const byName = new Map(r.files.map((f) => [f.name, f]));
        assert.equal(byName.get("./opt/big")?.chunks.length, 3);
        for (const [i, c] of tocFiles()[0]!.chunks.entries()) {
          assert.deepEqual(await store.getChunkPointer(c.digest!), {
            object: digestOf(big),
            offset: i * MiB,
            length: MiB,
          });
        }
        // Not in the TOC: chunked only if the TOC was there to say so (else no pointers).
        const otherChunks = byName.get("./opt/other")!.chunks;
        if (when === "known up front") assert.ok(otherChunks.length > 1);
        else assert.equal(otherChunks.length, 0);
        assert.ok(await store.hasObject(digestOf(other) as Digest));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test("a TOC that failed fails the pull after the stream, with no temp file left", async () => {
    const { dir, store } = await freshStore();
    try {
      const broken = new FormatError("TOC entry 3: offset overlaps the previous payload");
      await assert.rejects(
        indexTar(pieces(), digestOf(tar), store, "test", {
          toc: Promise.resolve({ error: broken }),
        }),
        (err) => err === broken,
      );
      assert.deepEqual(await readdir(store.layout.tmpDir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
