/**
 * The command table. Each entry names a command, says in one line what it does and loads its
 * module only when it runs (start-up stays fast: `layer` commands never load the registry code).
 * A new command is one entry here plus a module exporting its CommandSpec.
 */
import type { CommandEntry } from "./spec.js";

export const COMMANDS: CommandEntry[] = [
  {
    name: "pull",
    summary: "pull an image into the store, fetching only what the store lacks",
    load: async () => (await import("./pull.js")).pullSpec,
  },
  {
    name: "push",
    summary:
      "push a local image (OCI layout or docker archive) to a registry, optionally converted",
    load: async () => (await import("./push.js")).pushSpec,
  },
  {
    name: "inspect",
    summary: "show an image's platforms and layers, and what a pull would fetch now",
    load: async () => (await import("./inspect.js")).inspectSpec,
  },
  {
    name: "layer inspect",
    summary: "describe a chunked layer blob from its TOC and footer",
    load: async () => (await import("./layer-inspect.js")).layerInspectSpec,
  },
  {
    name: "layer rebuild",
    summary: "rebuild a chunked layer's exact tar",
    load: async () => (await import("./layer-rebuild.js")).layerRebuildSpec,
  },
  {
    name: "layer convert",
    summary: "write a tar as a zstd:chunked or eStargz layer blob",
    load: async () => (await import("./layer-convert.js")).layerConvertSpec,
  },
  {
    name: "store ls",
    summary: "list the layers in the store",
    load: async () => (await import("./store.js")).storeLsSpec,
  },
  {
    name: "store du",
    summary: "show where the store's disk space goes",
    load: async () => (await import("./store.js")).storeDuSpec,
  },
  {
    name: "store rm",
    summary: "remove an image (and the layers only it names) or a layer, then gc",
    load: async () => (await import("./store.js")).storeRmSpec,
  },
  {
    name: "store verify",
    summary: "re-hash every object and check every layer record; --repair removes what is damaged",
    load: async () => (await import("./store.js")).storeVerifySpec,
  },
  {
    name: "store gc",
    summary: "remove what no stored layer needs, and crashed pulls' leftovers",
    load: async () => (await import("./store.js")).storeGcSpec,
  },
  {
    name: "store export",
    summary: "write a stored layer's exact tar, checked against its diff_id",
    load: async () => (await import("./store.js")).storeExportSpec,
  },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** Commands under a group word (`store`, `layer`). */
export function groupCommands(group: string): CommandEntry[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `));
}
