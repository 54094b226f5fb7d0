/**
 * Deterministic synthetic tars for benchmarks: a mix of small text files, medium binaries and a
 * few large files, written as a stream so a 500 MB tar never sits in memory.
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from "../src/formats/tar/writer.js";

/** xorshift32: fast, deterministic, good enough to defeat compression where we want entropy. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const WORDS =
  "the of and to in is was for on that with by as at from it be this an are or which layer chunk registry blob digest tar file image container manifest config".split(
    " ",
  );

/** Compressible pseudo-text (~4-5x with zstd), like source code and docs in real images. */
export function textBytes(size: number, seed: number): Buffer {
  const next = rng(seed);
  const out = Buffer.alloc(size);
  let pos = 0;
  while (pos < size) {
    const w = WORDS[next() % WORDS.length]!;
    pos += out.write(next() % 13 === 0 ? `${w}\n` : `${w} `, pos);
  }
  return out;
}

/** Incompressible bytes, like already-compressed assets. */
export function randomBytes(size: number, seed: number): Buffer {
  const next = rng(seed);
  const out = Buffer.alloc(size + 4);
  for (let i = 0; i < size; i += 4) out.writeUInt32LE(next(), i);
  return out.subarray(0, size);
}

export interface GeneratedFile {
  name: string;
  data: Buffer;
}

/** Yields files totalling about `totalBytes`: 70% text, 30% random, sizes from 1 KiB to 32 MiB. */
export function* syntheticFiles(totalBytes: number, seed: number): Generator<GeneratedFile> {
  const next = rng(seed);
  let written = 0;
  let i = 0;
  while (written < totalBytes) {
    const r = next() % 100;
    const size = r < 70 ? 1024 + (next() % 65536) : r < 97 ? 65536 + (next() % (2 << 20)) : 8 << 20;
    const data = next() % 10 < 7 ? textBytes(size, next()) : randomBytes(size, next());
    yield { name: `data/d${i % 97}/f${i}.bin`, data };
    written += size;
    i++;
  }
}

export async function writeSyntheticTar(path: string, totalBytes: number, seed = 1): Promise<void> {
  const out = createWriteStream(path);
  const write = async (b: Buffer) => {
    if (!out.write(b)) await once(out, "drain");
  };
  const mtime = { sec: 1700000000, nsec: 0 };
  for (const f of syntheticFiles(totalBytes, seed)) {
    await write(
      encodeTarHeader({ name: f.name, typeflag: "0", size: f.data.length, mode: 0o644, mtime }),
    );
    await write(f.data);
    await write(tarPadding(f.data.length));
  }
  await write(END_OF_ARCHIVE);
  out.end();
  await once(out, "finish");
}
