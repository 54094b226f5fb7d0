/**
 * Deterministic sample application versions for the demo, the seeder, tests and benchmarks:
 * a base layer (an OS-like tree of small text files and a few binaries) and an app layer
 * whose versions share most files: version N changes a few files, grows one large file by
 * appending, and adds one file, so chunk-level dedup (not only file-level) is exercised.
 */
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from "../../../src/formats/tar/writer.js";

/** xorshift32: tiny, deterministic, good enough for sample content. */
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
  "the of and to in is for on that with by as at from it be this are or layer chunk registry blob digest tar file image config build deploy service request response cache".split(
    " ",
  );

/** Compressible text, like source code and docs. */
export function textContent(size: number, seed: number): Buffer {
  const next = rng(seed);
  const out = Buffer.alloc(size);
  let pos = 0;
  while (pos < size) {
    const w = WORDS[next() % WORDS.length]!;
    pos += out.write(next() % 11 === 0 ? `${w}\n` : `${w} `, pos);
  }
  return out;
}

/** Incompressible bytes, like compiled or already-compressed assets. */
export function binaryContent(size: number, seed: number): Buffer {
  const next = rng(seed);
  const out = Buffer.alloc(size + 4);
  for (let i = 0; i < size; i += 4) out.writeUInt32LE(next(), i);
  return out.subarray(0, size);
}

export interface TarFile {
  name: string;
  data?: Buffer;
  /** "0" file (default), "5" directory, "2" symlink. */
  type?: "0" | "5" | "2";
  linkname?: string;
  mode?: number;
}

const MTIME = { sec: 1735689600, nsec: 0 };

export function makeTar(files: readonly TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const type = f.type ?? "0";
    const size = type === "0" ? (f.data?.length ?? 0) : 0;
    parts.push(
      encodeTarHeader({
        name: f.name,
        typeflag: type,
        size,
        mode: f.mode ?? (type === "5" ? 0o755 : 0o644),
        mtime: MTIME,
        linkname: f.linkname,
        uname: "root",
        gname: "root",
      }),
    );
    if (size > 0) parts.push(f.data!, tarPadding(size));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** The shared base layer: ~`fileCount` small files plus a few larger binaries. */
export function baseLayerFiles(fileCount = 300): TarFile[] {
  const files: TarFile[] = [
    { name: "usr/", type: "5" },
    { name: "usr/share/", type: "5" },
  ];
  for (let d = 0; d < 10; d++) files.push({ name: `usr/share/doc${d}/`, type: "5" });
  for (let i = 0; i < fileCount; i++) {
    files.push({
      name: `usr/share/doc${i % 10}/file${i}.txt`,
      data: textContent(500 + ((i * 7919) % 20000), 1000 + i),
    });
  }
  files.push({ name: "usr/bin/", type: "5" });
  for (let i = 0; i < 4; i++) {
    files.push({
      name: `usr/bin/tool${i}`,
      data: binaryContent(300_000 + i * 50_000, 77 + i),
      mode: 0o755,
    });
  }
  files.push({ name: "usr/bin/sh", type: "2", linkname: "tool0" });
  return files;
}

/**
 * The app layer of version `version` (1, 2, ...): most files identical across versions; each
 * version rewrites ~5% of the small files, appends to the large bundle and adds a release note.
 */
export function appLayerFiles(version: number, scale = 1): TarFile[] {
  const files: TarFile[] = [
    { name: "app/", type: "5" },
    { name: "app/lib/", type: "5" },
  ];
  const count = Math.round(200 * scale);
  for (let i = 0; i < count; i++) {
    const changesEveryVersion = i % 20 === 3;
    const seed = 50_000 + i * 31 + (changesEveryVersion ? version * 7 : 0);
    files.push({
      name: `app/lib/mod${i}.js`,
      data: textContent(2000 + ((i * 104729) % 30000), seed),
    });
  }
  // A large bundle that grows: earlier content unchanged, so content-defined chunks re-sync.
  const bundleBase = textContent(Math.round(4_000_000 * scale), 4242);
  const extra = textContent(40_000 * version, 9000 + version);
  files.push({
    name: "app/bundle.js",
    data: Buffer.concat([
      bundleBase.subarray(0, bundleBase.length / 2),
      extra,
      bundleBase.subarray(bundleBase.length / 2),
    ]),
  });
  files.push({ name: "app/assets.bin", data: binaryContent(Math.round(1_500_000 * scale), 31337) });
  for (let v = 1; v <= version; v++) {
    files.push({ name: `app/RELEASE-${v}.md`, data: textContent(3000, 700 + v) });
  }
  return files;
}
