/**
 * The tools the pull bench runs side by side. Each keeps its own state (a store, an OCI layout,
 * a containers-storage root) across one chain of pulls, and pulls one image per step, as its
 * own process: start-up counts for every tool alike.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Measured, measure } from "./measure.js";

export interface StepImage {
  repo: string;
  tag: string;
  /** The layer the step is about (the last one): its blob digest and media type. */
  layer: { digest: string; mediaType: string };
}

export interface Tool {
  name: string;
  /** Starts a fresh state under `dir` (a new chain). */
  reset(dir: string): void;
  pull(host: string, img: StepImage): Promise<Measured>;
  cleanup(): void;
}

export function chunkpullTool(cli: string): Tool {
  let store = "";
  return {
    name: "chunkpull",
    reset(dir) {
      store = join(dir, "store");
    },
    pull: (host, img) =>
      measure(process.execPath, [
        cli,
        "pull",
        `${host}/${img.repo}:${img.tag}`,
        "--store",
        store,
        "--plain-http",
        "--quiet",
      ]),
    cleanup() {},
  };
}

export function skopeoOciTool(): Tool {
  let layout = "";
  return {
    name: "skopeo oci:",
    reset(dir) {
      layout = join(dir, "layout");
    },
    pull: (host, img) =>
      measure("skopeo", [
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        `docker://${host}/${img.repo}:${img.tag}`,
        `oci:${layout}:${img.tag}`,
      ]),
    cleanup() {},
  };
}

/** Unmounts anything c/storage left mounted under `root` (deepest first). */
function unmountUnder(root: string): void {
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m.startsWith(root))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync("umount", ["-l", m], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
}

/** Whether skopeo can write into an overlay containers-storage here (root, overlay mounts). */
export function containersStorageUsable(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("skopeo", ["--version"], { stdio: "ignore" });
    return readFileSync("/proc/filesystems", "utf8").includes("overlay");
  } catch {
    return false;
  }
}

/** skopeo into containers-storage (overlay) with partial pulls enabled. */
export function skopeoStorageTool(): Tool {
  let root = "";
  let conf = "";
  return {
    name: "skopeo containers-storage",
    reset(dir) {
      if (root) {
        unmountUnder(root);
        rmSync(root, { recursive: true, force: true });
      }
      root = join(dir, "cs");
      mkdirSync(root, { recursive: true });
      conf = join(root, "storage.conf");
      writeFileSync(
        conf,
        `[storage]\ndriver = "overlay"\ngraphroot = "${root}/graph"\nrunroot = "${root}/run"\n` +
          `[storage.options]\npull_options = {enable_partial_images = "true", use_hard_links = "false"}\n`,
      );
    },
    pull: (host, img) =>
      measure(
        "skopeo",
        [
          "copy",
          "--quiet",
          "--src-tls-verify=false",
          `docker://${host}/${img.repo}:${img.tag}`,
          `containers-storage:${img.repo}:${img.tag}`,
        ],
        { CONTAINERS_STORAGE_CONF: conf },
      ),
    cleanup() {
      if (root) {
        unmountUnder(root);
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

/** What the hardware can do with the step's blob: download, decompress, hash (no storing). */
export function limitTool(): Tool {
  return {
    name: "curl | decompress | sha256sum",
    reset() {},
    pull(host, img) {
      const decompress = img.layer.mediaType.endsWith("gzip") ? "gzip -dc" : "zstd -dc";
      const url = `http://${host}/v2/${img.repo}/blobs/${img.layer.digest}`;
      return measure("bash", [
        "-o",
        "pipefail",
        "-c",
        `curl -sfL '${url}' | ${decompress} | sha256sum >/dev/null`,
      ]);
    },
    cleanup() {},
  };
}
