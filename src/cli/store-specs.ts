/**
 * Specs (help, options, examples) of the `store` commands, whose code lives in store.ts. The
 * commands there parse `inv.args` themselves; the framework has already checked them against
 * these options.
 */
import { type CommandSpec, JSON_OPTION, STORE_OPTION } from "./spec.js";

export const storeLsSpec: CommandSpec = {
  name: "store ls",
  summary: "list the layers in the store",
  positionals: [],
  options: [STORE_OPTION, JSON_OPTION],
  description:
    "One line per stored layer: diff_id, format, the policy that verified it, uncompressed size and the compressed digest it was pulled as; then the store's totals.",
  examples: ["chunkpull store ls", "chunkpull store ls --store /var/cache/chunkpull --json"],
  run: async (inv) => {
    const { storeList } = await import("./store.js");
    return storeList(inv.args);
  },
};

export const storeGcSpec: CommandSpec = {
  name: "store gc",
  summary: "remove what no stored layer needs, and crashed pulls' leftovers",
  positionals: [],
  options: [STORE_OPTION, JSON_OPTION],
  description:
    "Removes objects and chunk pointers no layer record refers to, temp files of dead writers and unfinished layers. Waits for running pulls.",
  examples: ["chunkpull store gc"],
  run: async (inv) => {
    const { storeGc } = await import("./store.js");
    return storeGc(inv.args);
  },
};

export const storeExportSpec: CommandSpec = {
  name: "store export",
  summary: "write a stored layer's exact tar, checked against its diff_id",
  positionals: [{ name: "DIFF_ID", description: "the layer's diff_id (sha256:...)" }],
  options: [
    STORE_OPTION,
    {
      name: "output",
      short: "o",
      type: "string",
      value: "OUT.tar",
      description: "where to write the tar (required)",
    },
  ],
  examples: ["chunkpull store export sha256:4f6e... -o layer.tar"],
  run: async (inv) => {
    const { storeExport } = await import("./store.js");
    return storeExport(inv.args);
  },
};
