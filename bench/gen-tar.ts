/**
 * Deterministic synthetic tars for benchmarks: a mix of small text files, medium binaries and a
 * few large files, written as a stream so a 500 MB tar never sits in memory.
 */

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { binaryContent, rng, textContent } from "../mock-registry/src/image/sample-app.js";
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from "../src/formats/tar/writer.js";

export interface GeneratedFile {
  name: string;
  data: Buffer;
}

/** Yields files totalling about `totalBytes`: 70% text, 30% random, 1 KiB to 8 MiB, no two alike. */
export function* syntheticFiles(totalBytes: number, seed: number): Generator<GeneratedFile> {
  const next = rng(seed);
  let written = 0;
  let i = 0;
  while (written < totalBytes) {
    const r = next() % 100;
    const size = r < 70 ? 1024 + (next() % 65536) : r < 97 ? 65536 + (next() % (2 << 20)) : 8 << 20;
    // A file's own generator must not start at this generator's state (xorshift's output IS its
    // state, so that would replay this sequence and make files near-copies of each other):
    // scramble the seed with an odd multiplier and the file index.
    const fileSeed = (Math.imul(next(), 0x9e3779b1) ^ i) >>> 0;
    const data = next() % 10 < 7 ? textContent(size, fileSeed) : binaryContent(size, fileSeed);
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
