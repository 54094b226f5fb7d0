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

export const storeDuSpec: CommandSpec = {
  name: "store du",
  summary: "show where the store's disk space goes",
  positionals: [],
  options: [STORE_OPTION, JSON_OPTION],
  examples: ["chunkpull store du", "chunkpull store du --json"],
  run: async (inv) => {
    const { storeDu } = await import("./store.js");
    return storeDu(inv.args);
  },
};

export const storeRmSpec: CommandSpec = {
  name: "store rm",
  summary: "remove an image (and the layers only it names) or a layer, then gc",
  positionals: [
    {
      name: "REF|DIGEST",
      description:
        "an image reference as pulled, or a layer's diff_id or compressed digest (a unique prefix is enough)",
    },
  ],
  options: [
    STORE_OPTION,
    {
      name: "no-gc",
      type: "boolean",
      description: "only remove the records; leave the objects to a later gc",
    },
    JSON_OPTION,
  ],
  examples: [
    "chunkpull store rm registry.example.com/team/app:v1",
    "chunkpull store rm 77648f1ca68f",
  ],
  run: async (inv) => {
    const { storeRm } = await import("./store.js");
    return storeRm(inv.args);
  },
};

export const storeVerifySpec: CommandSpec = {
  name: "store verify",
  summary: "re-hash every object and check every layer record; --repair removes what is damaged",
  positionals: [],
  options: [
    STORE_OPTION,
    {
      name: "repair",
      type: "boolean",
      description: "remove damaged objects, pointers and layers (a later pull fetches them again)",
    },
    JSON_OPTION,
  ],
  description: "Exits 1 when it finds damage and --repair was not given.",
  examples: ["chunkpull store verify", "chunkpull store verify --repair"],
  run: async (inv) => {
    const { storeVerify } = await import("./store.js");
    return storeVerify(inv.args);
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
