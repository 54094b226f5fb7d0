/**
 * Bundles the command line into dist/bin/ (run by `npm run build` after tsc): one ES module plus
 * the chunks its lazily loaded commands need. Loading the hundred-odd compiled modules one by
 * one cost about 0.15 s of every invocation (resolving, reading and compiling each); the bundle
 * is read in a few files. The native zstd binding stays outside (it is loaded from
 * node_modules). Without esbuild installed (a production install), nothing is bundled and
 * bin/chunkpull.mjs runs the compiled modules instead.
 */
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  process.stderr.write("bundle: esbuild is not installed; the command line runs unbundled\n");
  process.exit(0);
}
const outdir = join(root, "dist", "bin");
rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  entryPoints: { chunkpull: join(root, "dist", "src", "cli", "main.js") },
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["@mongodb-js/zstd"],
  // CommonJS dependencies (undici) call require(): give the bundle one.
  banner: {
    js: "import { createRequire as __chunkpullRequire } from 'node:module'; const require = __chunkpullRequire(import.meta.url);",
  },
  logLevel: "warning",
});
