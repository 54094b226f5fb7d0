#!/usr/bin/env node
/**
 * The chunkpull command line: a thin layer over the library. Each command lives in its own file
 * and only parses arguments, calls the library and renders the result.
 */
import { ChunkpullError } from "../errors.js";

const USAGE = `usage:
  chunkpull pull REF [--store DIR] [--platform os/arch[/variant]] [--plain-http] [--creds user:pass]
                 [--verify diff-id|toc] [--concurrency N] [--json] [--quiet] [--strict]
                 [--output oci:DIR[:TAG]|docker-archive:FILE[:REF]] [--oci-layout DIR] [--rootfs DIR]
                 [--timeout SECONDS] [--registries-conf FILE] [--hosts-dir DIR] [--prefetch]
  chunkpull push oci:DIR[:TAG]|docker-archive:FILE[:REF] REF [--convert zstd:chunked|estargz]
                 [--level N] [--plain-http] [--creds user:pass] [--json] [--quiet]
  chunkpull layer inspect BLOB [--annotations FILE] [--json] [--strict]
  chunkpull layer rebuild BLOB [--annotations FILE] -o OUT.tar [--diff-id sha256:...] [--strict]
  chunkpull layer convert IN.tar --format zstd:chunked|estargz -o OUT.blob [--annotations-out FILE] [--level N]
  chunkpull store ls [--store DIR] [--json]
  chunkpull store du [--store DIR] [--json]
  chunkpull store gc [--store DIR] [--json]
  chunkpull store rm REF|DIGEST [--store DIR] [--json] [--no-gc]
  chunkpull store verify [--repair] [--store DIR] [--json]
  chunkpull store export DIFF_ID -o OUT.tar [--store DIR]
`;

type Command = (args: string[]) => Promise<number>;

// Each command is loaded only when it runs: the layer commands never pay for the registry code.
const COMMANDS: Record<string, () => Promise<Command>> = {
  pull: async () => (await import("./pull.js")).pullCommand,
  push: async () => (await import("./push.js")).pushCommand,
  "layer inspect": async () => (await import("./layer-inspect.js")).layerInspect,
  "layer rebuild": async () => (await import("./layer-rebuild.js")).layerRebuild,
  "layer convert": async () => (await import("./layer-convert.js")).layerConvert,
  "store ls": async () => (await import("./store.js")).storeList,
  "store du": async () => (await import("./store.js")).storeDu,
  "store gc": async () => (await import("./store.js")).storeGc,
  "store rm": async () => (await import("./store.js")).storeRm,
  "store verify": async () => (await import("./store.js")).storeVerify,
  "store export": async () => (await import("./store.js")).storeExport,
};

export async function main(argv: string[]): Promise<number> {
  const [first, second, ...rest] = argv;
  if (!first || first === "-h" || first === "--help" || first === "help") {
    process.stdout.write(USAGE);
    return first ? 0 : 2;
  }
  const twoWord = second !== undefined ? COMMANDS[`${first} ${second}`] : undefined;
  const command = twoWord ?? COMMANDS[first];
  if (!command) {
    process.stderr.write(`chunkpull: unknown command ${JSON.stringify(first)}\n${USAGE}`);
    return 2;
  }
  const args = twoWord ? rest : argv.slice(1);
  try {
    return await (await command())(args);
  } catch (err) {
    process.stderr.write(`chunkpull: ${describeError(err)}\n`);
    return err instanceof ChunkpullError && err.code === "EUSAGE" ? 2 : 1;
  }
}

function describeError(err: unknown): string {
  if (err instanceof ChunkpullError) return `${err.message} [${err.code}]`;
  if (err instanceof Error) return err.message;
  return String(err);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`chunkpull: internal error: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 70;
  },
);
