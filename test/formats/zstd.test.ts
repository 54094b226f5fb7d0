import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { textContent } from "../../mock-registry/src/image/sample-app.js";
import { FormatError, LimitExceededError } from "../../src/errors.js";
import { skippableFrame, zstdCompress, zstdDecompress } from "../../src/formats/zstd.js";
import { zstdDecompressStream } from "../../src/formats/zstd-stream.js";
import { zstdRleBomb } from "../hostile/bomb.js";

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of source) parts.push(b);
  return Buffer.concat(parts);
}

async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe("zstd primitives", () => {
  const text = textContent(300_000, 7);

  test("the compression level takes effect (the package wrapper used to drop it)", async () => {
    const fast = await zstdCompress(text, 1);
    const strong = await zstdCompress(text, 19);
    assert.ok(strong.length < fast.length, `level 19 ${strong.length} vs level 1 ${fast.length}`);
    assert.deepEqual(await zstdDecompress(strong, text.length), text);
  });

  test("decompression refuses output beyond the declared bound", async () => {
    const frame = await zstdCompress(text, 3);
    await assert.rejects(zstdDecompress(frame, 1000), LimitExceededError);
    await assert.rejects(zstdDecompress(Buffer.from("not zstd at all"), 100), FormatError);
  });
});

describe("zstdDecompressStream", () => {
  test("frames and skippable frames split at every size decode to the concatenation", async () => {
    const a = textContent(70_000, 1);
    const b = textContent(5_000, 2);
    const stream = Buffer.concat([
      await zstdCompress(a, 3),
      skippableFrame(Buffer.from("metadata")),
      await zstdCompress(b, 10),
    ]);
    const want = Buffer.concat([a, b]);
    for (const size of [1, 7, 4096, stream.length]) {
      assert.deepEqual(
        await collect(zstdDecompressStream(pieces(stream, size))),
        want,
        `pieces of ${size}`,
      );
    }
  });

  test("many small frames, decoded in runs, come out whole and in order", async () => {
    // Enough frames for several runs (each run is at most 512 KiB of input), a skippable frame
    // among them, and frames of every size class up to one larger than a run; about 9 MB in all,
    // so input buffers are filled, handed to the decoder and filled again.
    const parts: Buffer[] = [];
    const frames: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const data =
        i === 150
          ? randomBytes(1_200_000)
          : i % 3
            ? textContent(100 + i * 37, i)
            : randomBytes(60_000);
      parts.push(data);
      frames.push(await zstdCompress(data, 1));
      if (i === 200) frames.push(skippableFrame(Buffer.from("in the middle")));
    }
    const stream = Buffer.concat(frames);
    const want = Buffer.concat(parts);
    for (const size of [999, 65536, stream.length]) {
      const out: Buffer[] = [];
      for await (const b of zstdDecompressStream(pieces(stream, size))) out.push(b);
      assert.ok(
        out.length < frames.length / 4,
        `${out.length} outputs for ${frames.length} frames`,
      );
      assert.ok(Buffer.concat(out).equals(want), `pieces of ${size}`);
    }
  });

  test("a bomb frame among small frames is still refused", async () => {
    const small = await zstdCompress(textContent(1000, 1), 3);
    async function* stream() {
      yield Buffer.concat([small, small, zstdRleBomb(2048), small]);
    }
    const consume = async () => {
      for await (const _ of zstdDecompressStream(stream(), 1 << 20, 8 << 20)) {
        // the run holding the bomb must be refused
      }
    };
    await assert.rejects(consume(), LimitExceededError);
  });

  test("a truncated stream is an error, not a short success", async () => {
    const frame = await zstdCompress(textContent(50_000, 3), 3);
    await assert.rejects(
      collect(zstdDecompressStream(pieces(frame.subarray(0, frame.length - 5), 1000))),
      /truncated/,
    );
  });

  test("a frame larger than the bound is refused before it is buffered whole", async () => {
    const frame = await zstdCompress(textContent(200_000, 4), 1);
    await assert.rejects(
      collect(zstdDecompressStream(pieces(frame, 4096), 10_000)),
      LimitExceededError,
    );
  });

  test("garbage is a FormatError", async () => {
    await assert.rejects(
      collect(zstdDecompressStream(pieces(Buffer.alloc(64, 7), 16))),
      FormatError,
    );
  });
});
