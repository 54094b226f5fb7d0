/**
 * Fuzzing whole-layer opening: reference blobs written by containers/storage and estargz with
 * bytes overwritten (mostly in the metadata at the tail), opened with and without their
 * annotations, then every chunk decoded. Opening and decoding either work or fail typed.
 */
import { describe, test } from "node:test";
import fc from "fast-check";
import type { RangeSource } from "../../src/formats/layer-index.js";
import { openChunkedLayer } from "../../src/formats/open.js";
import { CASES, readVector } from "../helpers/vectors.js";
import { mutated, mutatedTail, params, typedAsync } from "./harness.js";

const TIMEOUT = { timeout: 180_000 };

function source(blob: Buffer): RangeSource {
  return {
    size: blob.length,
    async read(ranges) {
      return ranges.map((r) => {
        // The readers check every position against the blob size first: a read outside it
        // is a bug (and fails the property as an untyped error).
        if (r.offset < 0 || r.length < 0 || r.offset + r.length > blob.length) {
          throw new Error(`read outside the blob: [${r.offset}, ${r.offset + r.length})`);
        }
        return blob.subarray(r.offset, r.offset + r.length);
      });
    },
  };
}

async function openAndDecode(blob: Buffer, annotations: Record<string, string> | undefined) {
  const src = source(blob);
  const layer = await openChunkedLayer(src, annotations);
  for (const f of layer.files) {
    for (const c of f.chunks) {
      if (c.zeros) continue;
      const [raw] = await src.read([{ offset: c.offset, length: c.end - c.offset }]);
      await layer.decodeChunk(raw!, c);
    }
  }
}

describe("fuzz: opening damaged layers", () => {
  for (const format of ["zstdchunked-v2", "zstdchunked-v1", "estargz", "estargz-zstd"]) {
    test(format, TIMEOUT, async () => {
      const blob = readVector("small", `${format}.blob`);
      const annotations = CASES.small!.blobs[format]!.annotations;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof({ weight: 3, arbitrary: mutatedTail(blob, 600) }, mutated(blob)),
          fc.boolean(),
          (b, withAnnotations) =>
            typedAsync(`open ${format}`, () =>
              openAndDecode(b, withAnnotations ? annotations : undefined),
            ),
        ),
        { ...params(), numRuns: Math.max(20, Math.floor(params().numRuns! / 3)) },
      );
    });
  }
});
