/** The zstd binding has no output limit of its own: bombs are refused from their headers. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LimitExceededError } from "../../src/errors.js";
import { zstdCompress, zstdDecompress, zstdOutputBound } from "../../src/formats/zstd.js";
import { zstdDecompressStream } from "../../src/formats/zstd-stream.js";
import { zstdRleBomb } from "./bomb.js";

describe("zstd decompression bombs", () => {
  test("the bomb is real: a small one decompresses to blocks x 128 KiB", async () => {
    const small = zstdRleBomb(4);
    const out = await zstdDecompress(small, 4 * 128 * 1024);
    assert.equal(out.length, 4 * 128 * 1024);
    assert.deepEqual(zstdOutputBound(small), { bound: 4 * 128 * 1024, frames: 1, blocks: 4 });
  });

  test("a 4 KB frame that would expand to 128 MiB is refused before allocating", async () => {
    const bomb = zstdRleBomb(1024);
    assert.ok(bomb.length < 5000);
    await assert.rejects(zstdDecompress(bomb, 64 * 1024), (e: unknown) => {
      return e instanceof LimitExceededError && /decompression bomb/.test(e.message);
    });
  });

  test("the stream decoder bounds each frame's output", async () => {
    async function* one() {
      yield zstdRleBomb(2048);
    }
    const consume = async () => {
      for await (const _ of zstdDecompressStream(one(), 1 << 20, 8 << 20)) {
        // nothing: the first frame must already be refused
      }
    };
    await assert.rejects(consume(), LimitExceededError);
  });

  test("honest frames without a bomb still decompress at their exact bound", async () => {
    const data = Buffer.alloc(1_000_000, 7);
    const frame = await zstdCompress(data, 3);
    assert.deepEqual(await zstdDecompress(frame, data.length), data);
  });
});
