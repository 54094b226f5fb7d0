#!/usr/bin/env node
/**
 * The chunkpull command line: a thin layer over the library. Each command lives in its own file
 * and only parses arguments, calls the library and renders the result.
 */
import { ChunkpullError } from "../errors.js";
import { layerConvert } from "./layer-convert.js";
import { layerInspect } from "./layer-inspect.js";
import { layerRebuild } from "./layer-rebuild.js";
import { pullCommand } from "./pull.js";

const USAGE = `usage:
  chunkpull pull REF [--store DIR] [--platform os/arch[/variant]] [--plain-http] [--creds user:pass]
                 [--verify diff-id|toc] [--concurrency N] [--json] [--quiet]
  chunkpull layer inspect BLOB [--annotations FILE] [--json]
  chunkpull layer rebuild BLOB [--annotations FILE] -o OUT.tar [--diff-id sha256:...]
  chunkpull layer convert IN.tar --format zstd:chunked|estargz -o OUT.blob [--annotations-out FILE] [--level N]
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  pull: pullCommand,
  "layer inspect": layerInspect,
  "layer rebuild": layerRebuild,
  "layer convert": layerConvert,
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
    return await command(args);
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
