/**
 * `chunkpull inspect REF [--store DIR]`: the image's digests, platforms and layers (format, TOC
 * state), and with a store what a pull would fetch now. The library does the work
 * (inspectImage); this file renders it. `pull --dry-run` prints the same.
 */
import type { ImageInspection } from "../inspect/inspect-image.js";
import { str } from "./args.js";
import { platformWarning, REGISTRY_OPTIONS, registryOptions } from "./registry-options.js";
import { formatBytes } from "./render.js";
import { type CommandSpec, type Invocation, JSON_OPTION, type OptionSpec } from "./spec.js";
import { err, out } from "./terminal.js";

const STORE_PLAN_OPTION: OptionSpec = {
  name: "store",
  type: "string",
  value: "DIR",
  description:
    "also plan against this store: what a pull would fetch now, per layer and in all (nothing is written)",
};

export const inspectSpec: CommandSpec = {
  name: "inspect",
  summary: "show an image's platforms and layers, and what a pull would fetch now",
  positionals: [
    { name: "REF", description: "image reference: [registry/]repository[:tag][@digest]" },
  ],
  options: [STORE_PLAN_OPTION, ...REGISTRY_OPTIONS, JSON_OPTION],
  description:
    "Reads the manifest (and index), the config and each chunked layer's TOC and tar-split, never file contents. TOC `verified` means the layer's annotations authenticate it; `unverified` means it was found through the footer (a pull still proves the layer by its diff_id).",
  examples: [
    "chunkpull inspect registry.example.com/team/app:v2",
    "chunkpull inspect registry.example.com/team/app:v3 --store ~/.cache/chunkpull",
    "chunkpull inspect localhost:5000/app:v1 --json",
  ],
  run: runInspect,
};

async function runInspect(inv: Invocation): Promise<number> {
  const { inspectImage } = await import("../inspect/inspect-image.js");
  const r = await inspectImage(inv.positionals[0]!, {
    ...registryOptions(inv.values),
    store: str(inv.values, "store"),
    signal: inv.signal,
  });
  if (inv.values.json === true) out(`${JSON.stringify(r, null, 2)}\n`);
  else out(renderInspection(r));
  if (r.platformMismatch) err(`chunkpull inspect: ${platformWarning(r.platformMismatch, false)}\n`);
  return 0;
}

export function renderInspection(r: ImageInspection): string {
  const lines = [`image:     ${r.reference}`];
  if (r.indexDigest) lines.push(`index:     ${r.indexDigest}`);
  lines.push(
    `manifest:  ${r.manifestDigest}`,
    `config:    ${r.configDigest}`,
    `platform:  ${r.platform}`,
    `platforms: ${r.platforms.join(", ")}`,
    `layers:    ${r.layers.length}, ${formatBytes(r.size)} compressed`,
  );
  r.layers.forEach((l, i) => {
    lines.push(`  layer ${i + 1}/${r.layers.length} ${l.digest}`);
    lines.push(`    diff_id ${l.diffId}`);
    const toc =
      l.toc === "none" ? "no TOC" : `TOC ${l.toc}, tar-split ${l.tarSplit}, ${l.files ?? 0} files`;
    lines.push(`    ${l.format}, ${formatBytes(l.size)}, ${toc}`);
    const d = l.dryRun;
    if (!d) return;
    if (d.mode === "cached") {
      lines.push("    plan: cached, already in the store: nothing to fetch");
      return;
    }
    const files =
      d.filesTotal !== undefined ? `; files from store ${d.filesFromStore}/${d.filesTotal}` : "";
    const why = d.reason ? ` (${d.reason})` : "";
    lines.push(
      `    plan: ${d.mode}${why}: fetch ${formatBytes(d.bytesToFetch)} of ${formatBytes(l.size)} in ${d.requests} request(s)${files}`,
    );
  });
  if (r.dryRun) {
    const saved = Math.max(0, r.size - r.dryRun.bytesToFetch);
    lines.push(
      `a pull now would fetch ${formatBytes(r.dryRun.bytesToFetch)} of ${formatBytes(r.size)} in ${r.dryRun.requests} request(s); saving ${formatBytes(saved)}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
