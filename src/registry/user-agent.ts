/**
 * The User-Agent every request carries: `chunkpull/<version from package.json>`. Read once from
 * the package's own manifest (two directories above the compiled module: dist/src/registry),
 * so it cannot drift from the published version.
 */
import { readFileSync } from "node:fs";

let cached: string | undefined;

export function packageVersion(): string {
  if (cached === undefined) {
    try {
      const url = new URL("../../../package.json", import.meta.url);
      const pkg = JSON.parse(readFileSync(url, "utf8")) as { name?: string; version?: string };
      cached = pkg.name === "chunkpull" && pkg.version ? pkg.version : "0.0.0";
    } catch {
      cached = "0.0.0";
    }
  }
  return cached;
}

export function defaultUserAgent(): string {
  return `chunkpull/${packageVersion()}`;
}
