/**
 * The pull command's outputs, in skopeo's transport syntax: `--output oci:DIR[:TAG]` (alias
 * `--oci-layout DIR`), `--output docker-archive:FILE[:REF]`, and `--rootfs DIR`. Parsed and
 * checked before the pull starts (usage errors cost no download); written after it from the
 * store, while the CLI still holds the store's pull marker so gc cannot collect what is read.
 */
import { readdir } from "node:fs/promises";
import type { Digest } from "../digest.js";
import { UsageError } from "../errors.js";
import { writeDockerArchive } from "../output/docker-archive.js";
import { type OutputImage, storedImage } from "../output/image.js";
import { writeOciLayout } from "../output/oci-layout.js";
import { writeImageRootfs } from "../output/rootfs.js";
import type { PullResult } from "../pull/types.js";
import type { Reference } from "../reference.js";
import type { Store } from "../store/store.js";

export interface OutputRequest {
  oci?: { dir: string; tag?: string };
  dockerArchive?: { file: string; ref?: string };
  rootfs?: string;
}

/** What was written, for the summary and `--json`. */
export interface OutputsWritten {
  oci?: { dir: string; tag?: string; manifestDigest: Digest };
  dockerArchive?: { file: string; repoTags: string[] };
  rootfs?: { dir: string; entries: number; filesFromStore: number; devicesSkipped: number };
}

/** "oci:DIR[:TAG]" / "docker-archive:FILE[:REF]": the first colon after the transport splits. */
export function parseOutputs(
  output: string | undefined,
  ociLayout: string | undefined,
  rootfs: string | undefined,
): OutputRequest {
  const req: OutputRequest = {};
  if (output !== undefined) {
    const i = output.indexOf(":");
    const transport = i < 0 ? output : output.slice(0, i);
    const rest = i < 0 ? "" : output.slice(i + 1);
    const j = rest.indexOf(":");
    const path = j < 0 ? rest : rest.slice(0, j);
    const name = j < 0 ? undefined : rest.slice(j + 1);
    if (path === "" || name === "")
      throw new UsageError(
        `--output ${output}: expected oci:DIR[:TAG] or docker-archive:FILE[:REF]`,
      );
    if (transport === "oci") req.oci = { dir: path, ...(name ? { tag: name } : {}) };
    else if (transport === "docker-archive")
      req.dockerArchive = { file: path, ...(name ? { ref: name } : {}) };
    else
      throw new UsageError(
        `--output ${output}: unknown transport ${JSON.stringify(transport)} (oci: or docker-archive:)`,
      );
  }
  if (ociLayout !== undefined) {
    if (req.oci)
      throw new UsageError("--oci-layout and --output oci: name the same output; give one");
    req.oci = { dir: ociLayout };
  }
  if (rootfs !== undefined) req.rootfs = rootfs;
  return req;
}

export function wantsOutputs(req: OutputRequest): boolean {
  return req.oci !== undefined || req.dockerArchive !== undefined || req.rootfs !== undefined;
}

/** A rootfs is extracted into a new or empty directory only: never merged into a live tree. */
export async function checkOutputTargets(req: OutputRequest): Promise<void> {
  if (req.rootfs === undefined) return;
  const entries = await readdir(req.rootfs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw new UsageError(`--rootfs ${req.rootfs}: ${err.code ?? err.message}`);
  });
  if (entries.length > 0) throw new UsageError(`--rootfs ${req.rootfs}: directory is not empty`);
}

export async function writeOutputs(
  store: Store,
  ref: Reference,
  result: PullResult,
  req: OutputRequest,
  progress: (message: string) => void,
): Promise<OutputsWritten> {
  const image: OutputImage = storedImage(store, result.configBytes, result.config.rootfs.diff_ids);
  const written: OutputsWritten = {};
  if (req.oci) {
    const tag = req.oci.tag ?? ref.tag ?? ref.digest;
    progress(`writing an OCI image layout to ${req.oci.dir}${tag ? `:${tag}` : ""}`);
    const r = await writeOciLayout(req.oci.dir, image, tag ? { refName: tag } : {});
    written.oci = { dir: req.oci.dir, ...(tag ? { tag } : {}), manifestDigest: r.manifestDigest };
  }
  if (req.dockerArchive) {
    const named =
      req.dockerArchive.ref ??
      (ref.tag ? `${ref.registry}/${ref.repository}:${ref.tag}` : undefined);
    const repoTags = named ? [named] : [];
    progress(`writing a docker archive to ${req.dockerArchive.file}`);
    await writeDockerArchive(req.dockerArchive.file, image, { repoTags });
    written.dockerArchive = { file: req.dockerArchive.file, repoTags };
  }
  if (req.rootfs) {
    progress(`extracting the layers into ${req.rootfs}`);
    const dir = req.rootfs;
    const r = await writeImageRootfs(dir, image);
    written.rootfs = {
      dir,
      entries: r.entries,
      filesFromStore: r.filesFromStore,
      devicesSkipped: r.devicesSkipped,
    };
  }
  return written;
}

export function renderOutputs(w: OutputsWritten): string {
  const lines: string[] = [];
  if (w.oci)
    lines.push(
      `OCI image layout oci:${w.oci.dir}${w.oci.tag ? `:${w.oci.tag}` : ""} (manifest ${w.oci.manifestDigest})`,
    );
  if (w.dockerArchive)
    lines.push(
      `docker archive ${w.dockerArchive.file}${w.dockerArchive.repoTags.length ? ` (${w.dockerArchive.repoTags.join(", ")})` : ""}`,
    );
  if (w.rootfs)
    lines.push(
      `rootfs ${w.rootfs.dir}: ${w.rootfs.entries} entries, ${w.rootfs.filesFromStore} files copied from the store${w.rootfs.devicesSkipped ? `, ${w.rootfs.devicesSkipped} device nodes skipped (not root)` : ""}`,
    );
  return lines.map((l) => `${l}\n`).join("");
}
