/**
 * The User-Agent every request carries: `chunkpull/<version from package.json>`. Read once from
 * the package's own manifest, the nearest package.json named chunkpull above this module (the
 * compiled module sits in dist/src/registry, the bundled command line in dist/bin), so it cannot
 * drift from the published version.
 */
import { readFileSync } from "node:fs";

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    cached = "0.0.0";
    for (let up = "./"; up.length < 20; up += "../") {
      try {
        const url = new URL(`${up}package.json`, import.meta.url);
        const pkg = JSON.parse(readFileSync(url, "utf8")) as { name?: string; version?: string };
        if (pkg.name === "chunkpull" && pkg.version) {
          cached = pkg.version;
          break;
        }
      } catch {
        // not here: one directory up
      }
    }
  }
  return cached;
}

export function defaultUserAgent(): string {
  return `chunkpull/${packageVersion()}`;
}
