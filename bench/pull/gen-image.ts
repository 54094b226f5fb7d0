/**
 * The pull bench's generated image: one layer tar of thousands of files (about 91% small files
 * of up to 16 KiB, 9% medium ones of up to 256 KiB, 0.2% binaries of 2-10 MiB; about 32 KiB on
 * average), with directory entries first (skopeo's partial pulls
 * need them), in versions that each change a given share of the files of version 1. Every
 * version is a pure function of (seed, total size, change share), written as a stream.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { binaryContent, rng, textContent } from "../../mock-registry/src/image/sample-app.js";
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from "../../src/formats/tar/writer.js";

interface FileSpec {
  name: string;
  size: number;
  binary: boolean;
}

const DIRS = 64;
const MTIME = { sec: 1735689600, nsec: 0 };

/** The file list of every version: names, sizes and kinds never change, only contents. */
export function fileSpecs(totalBytes: number, seed: number): FileSpec[] {
  const next = rng(seed);
  const files: FileSpec[] = [];
  let total = 0;
  for (let i = 0; total < totalBytes; i++) {
    const r = next() % 1000;
    let size: number;
    let binary: boolean;
    if (r < 908) {
      size = 256 + (next() % (16 << 10));
      binary = next() % 10 === 0;
    } else if (r < 998) {
      size = (16 << 10) + (next() % (240 << 10));
      binary = next() % 10 < 4;
    } else {
      size = (2 << 20) + (next() % (8 << 20));
      binary = true;
    }
    files.push({ name: `usr/lib/app${i % DIRS}/f${i}.${binary ? "so" : "txt"}`, size, binary });
    total += size;
  }
  return files;
}

/**
 * The files a version changing `share` (0..1) of version 1's bytes rewrites: files in a
 * pseudo-random order (salted, so two versions never pick the same sequence) until `share` of
 * the bytes is reached. By bytes, not by count: most files are small.
 */
export function changedFiles(files: FileSpec[], share: number, versionSalt: number): Set<number> {
  const out = new Set<number>();
  if (share <= 0) return out;
  const total = files.reduce((n, f) => n + f.size, 0);
  const order = files
    .map((_, i) => ({
      i,
      key: Math.imul(i ^ Math.imul(versionSalt, 0x85ebca6b), 0x9e3779b1) >>> 0,
    }))
    .sort((a, b) => a.key - b.key);
  let bytes = 0;
  for (const { i } of order) {
    if (bytes >= share * total) break;
    // Skip a file that would overshoot by more than half the target (a large binary).
    if (bytes + files[i]!.size > share * total * 1.5 && share < 1) continue;
    out.add(i);
    bytes += files[i]!.size;
  }
  return out;
}

/**
 * Writes one version: files making up `share` of the bytes get new content (salted by `versionSalt`, so two
 * versions never share a changed file). share 0 is version 1.
 */
export async function writeVersionTar(
  path: string,
  files: FileSpec[],
  share: number,
  versionSalt: number,
): Promise<void> {
  const out = createWriteStream(path);
  const write = async (b: Buffer) => {
    if (!out.write(b)) await once(out, "drain");
  };
  for (const dir of ["usr/", "usr/lib/"])
    await write(encodeTarHeader({ name: dir, typeflag: "5", mode: 0o755, mtime: MTIME }));
  for (let d = 0; d < Math.min(DIRS, files.length); d++)
    await write(
      encodeTarHeader({ name: `usr/lib/app${d}/`, typeflag: "5", mode: 0o755, mtime: MTIME }),
    );
  const changes = changedFiles(files, share, versionSalt);
  for (const [i, f] of files.entries()) {
    const changed = changes.has(i);
    const fileSeed = (Math.imul(i + 1, 0x9e3779b1) ^ (changed ? versionSalt * 7919 : 0)) >>> 0;
    const data = f.binary ? binaryContent(f.size, fileSeed) : textContent(f.size, fileSeed);
    await write(
      encodeTarHeader({ name: f.name, typeflag: "0", size: f.size, mode: 0o644, mtime: MTIME }),
    );
    await write(data);
    await write(tarPadding(f.size));
  }
  await write(END_OF_ARCHIVE);
  out.end();
  await once(out, "finish");
}
