/** Test helpers: an in-memory RangeSource that records requests, and blob re-assembly. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { digestOf } from "../../src/digest.js";
import type { ByteRange, RangeSource } from "../../src/formats/layer-index.js";
import { skippableFrame, zstdCompress } from "../../src/formats/zstd.js";
import { zstdChunkedAnnotations } from "../../src/formats/zstdchunked/annotations.js";
import { encodeFooter } from "../../src/formats/zstdchunked/footer.js";
import { type ConvertResult, convertToZstdChunked } from "../../src/formats/zstdchunked/writer.js";

export interface RecordingSource extends RangeSource {
  calls: ByteRange[][];
}

export function memorySource(blob: Buffer): RecordingSource {
  const calls: ByteRange[][] = [];
  return {
    size: blob.length,
    calls,
    async read(ranges) {
      calls.push([...ranges]);
      return ranges.map((r) => {
        if (r.offset < 0 || r.offset + r.length > blob.length) throw new RangeError("out of blob");
        return Buffer.from(blob.subarray(r.offset, r.offset + r.length));
      });
    },
  };
}

export async function sha256Of(chunks: AsyncIterable<Buffer>): Promise<string> {
  const h = createHash("sha256");
  for await (const c of chunks) h.update(c);
  return `sha256:${h.digest("hex")}`;
}

/**
 * Replace the TOC of a writer-produced blob (payload frames and tar-split kept), returning the
 * new blob and correct annotations: only checks beyond the digests can catch the change.
 */
export async function withToc(
  blob: Buffer,
  tocOffset: number,
  tarSplit: Buffer,
  tocJson: string,
): Promise<{ blob: Buffer; annotations: Record<string, string> }> {
  const payload = blob.subarray(0, tocOffset - 8);
  const tocJsonBuf = Buffer.from(tocJson);
  const toc = await zstdCompress(tocJsonBuf, 3);
  const tocPos = {
    offset: payload.length + 8,
    length: toc.length,
    uncompressedLength: tocJsonBuf.length,
  };
  const tsPos = {
    offset: tocPos.offset + toc.length + 8,
    length: tarSplit.length,
    uncompressedLength: 0,
  };
  const out = Buffer.concat([
    payload,
    skippableFrame(toc),
    skippableFrame(tarSplit),
    encodeFooter(tocPos, tsPos),
  ]);
  return {
    blob: out,
    annotations: zstdChunkedAnnotations({ tocDigest: digestOf(toc), toc: tocPos, tarSplit: tsPos }),
  };
}

export async function convertFile(path: string, level?: number) {
  const parts: Buffer[] = [];
  const result = await convertToZstdChunked(
    createReadStream(path, { highWaterMark: 65536 }),
    (c) => {
      parts.push(c);
    },
    level === undefined ? {} : { level },
  );
  return { blob: Buffer.concat(parts), result };
}

export async function* bytes(b: Buffer) {
  yield b;
}

export async function convertBytes(tar: Buffer): Promise<{ blob: Buffer; result: ConvertResult }> {
  const parts: Buffer[] = [];
  const result = await convertToZstdChunked(bytes(tar), (c) => {
    parts.push(c);
  });
  return { blob: Buffer.concat(parts), result };
}
