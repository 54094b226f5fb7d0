/**
 * Deterministic tar layers for the sample app: a base layer identical in every version and an
 * app layer whose files mostly stay the same from one version to the next (a few change, one is
 * added, one removed) — what a partial pull can deduplicate.
 */
import { makeTar, rng, type TarFile } from "./image/sample-app.js";

export interface ContentOptions {
  /** Regular files in the app layer. Default 40. */
  appFiles: number;
  /** Average file size in bytes. Default 48 KiB. */
  fileSize: number;
  /** Base seed; same seed, same bytes. Default 1. */
  seed: number;
}

const WORDS = [
  "layer",
  "chunk",
  "digest",
  "registry",
  "manifest",
  "config",
  "index",
  "blob",
  "range",
  "tar",
  "zstd",
  "gzip",
  "frame",
  "offset",
  "length",
  "verify",
  "store",
  "pull",
  "push",
  "image",
];

/** Half text-like (compressible), half random bytes, so compressed sizes look realistic. */
export function fileContent(seed: number, size: number): Buffer {
  const next = rng(seed);
  const out = Buffer.alloc(size);
  let i = 0;
  while (i < size) {
    if (next() % 2 === 0) {
      const word = `${WORDS[next() % WORDS.length]} `;
      i += out.write(word.slice(0, size - i), i, "latin1");
    } else {
      const n = Math.min(size - i, 16 + (next() % 48));
      for (let k = 0; k < n; k++) out[i + k] = next() & 0xff;
      i += n;
    }
  }
  return out;
}

/** The base layer: the same bytes for every version. */
export function baseLayerTar(opts: ContentOptions): Buffer[] {
  const entries: TarFile[] = [
    { name: "etc/", type: "5" },
    {
      name: "etc/os-release",
      data: Buffer.from('NAME="chunkpull sample"\nID=sample\n'),
    },
    { name: "usr/", type: "5" },
    { name: "usr/lib/", type: "5" },
  ];
  for (let i = 0; i < 8; i++) {
    entries.push({
      name: `usr/lib/libsample${i}.so`,
      data: fileContent(opts.seed * 7919 + i, opts.fileSize * 2),
      mode: 0o755,
    });
  }
  entries.push({ name: "usr/lib/libsample.so", type: "2", linkname: "libsample0.so", mode: 0o777 });
  return [makeTar(entries)];
}

/**
 * The app layer of `version` (1-based). File i has revision 0 until a version changes it:
 * every version rewrites files whose index ≡ version (mod 10), adds `plugins/v<version>.bin`
 * and drops the previous version's plugin, so consecutive versions share ~90% of their bytes.
 */
export function appLayerTar(version: number, opts: ContentOptions): Buffer[] {
  const entries: TarFile[] = [
    { name: "app/", type: "5" },
    { name: "app/bin/", type: "5" },
    { name: "app/data/", type: "5" },
    { name: "app/plugins/", type: "5" },
  ];
  entries.push({
    name: "app/VERSION",
    data: Buffer.from(`${version}\n`),
  });
  for (let i = 0; i < opts.appFiles; i++) {
    let revision = 0;
    for (let v = 2; v <= version; v++) if (i % 10 === v % 10) revision = v;
    const size = Math.max(1, Math.floor(opts.fileSize * (0.25 + ((i * 37) % 100) / 66)));
    const dir = i === 0 ? "app/bin" : "app/data";
    entries.push({
      name: i === 0 ? `${dir}/app` : `${dir}/file${String(i).padStart(3, "0")}.dat`,
      data: fileContent(opts.seed * 1_000_003 + i * 101 + revision, size),
      mode: i === 0 ? 0o755 : 0o644,
    });
  }
  // A large bundle that every version edits in the middle: most of its content-defined chunks
  // stay the same, so only the chunks around the edit are fetched (chunk-level dedup).
  const bundle = fileContent(opts.seed * 65_537, opts.fileSize * 40);
  const edit = fileContent(opts.seed * 17 + version, 4096);
  const middle = Math.floor(bundle.length / 2);
  entries.push({
    name: "app/bin/bundle.js",
    data: Buffer.concat([bundle.subarray(0, middle), edit, bundle.subarray(middle)]),
  });
  entries.push({
    name: `app/plugins/v${version}.bin`,
    data: fileContent(opts.seed * 31 + version * 977, opts.fileSize),
  });
  entries.push({ name: "app/current", type: "2", linkname: "bin/app", mode: 0o777 });
  return [makeTar(entries)];
}
