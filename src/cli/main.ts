#!/usr/bin/env node
/**
 * The chunkpull command line: a thin layer over the library. This file is the framework: it
 * finds the command, handles --help/--version/--debug, parses options against the command's
 * spec, prints every error as one line with a code and a hint, and turns SIGINT/SIGTERM into a
 * clean stop (temp files removed, exit 130/143).
 */
import { packageVersion } from "../registry/user-agent.js";
import { parseInvocation } from "./args.js";
import { COMMANDS, findCommand, groupCommands } from "./commands.js";
import { enableCompileCache } from "./compile-cache.js";
import { describeError } from "./report.js";
import { type CommandEntry, GLOBAL_OPTIONS, type Invocation } from "./spec.js";
import { err, guardPipes, out, removeOwnTempFiles } from "./terminal.js";

export const EXIT = { ok: 0, failure: 1, usage: 2, sigint: 130, sigterm: 143 } as const;
/** How long a stopped command gets to unwind (close files, release the store) before exit. */
const SIGNAL_GRACE_MS = 3000;

function version(): string {
  return `chunkpull ${packageVersion()} (node ${process.version})`;
}

/** Splits argv into a command entry and its arguments (`store ls --json` -> `store ls`). */
function resolve(argv: string[]): { entry?: CommandEntry; rest: string[]; group?: string } {
  const [first = "", second] = argv;
  const two = second !== undefined ? findCommand(`${first} ${second}`) : undefined;
  if (two) return { entry: two, rest: argv.slice(2) };
  const one = findCommand(first);
  if (one) return { entry: one, rest: argv.slice(1) };
  if (groupCommands(first).length > 0) return { group: first, rest: argv.slice(1) };
  return { rest: argv };
}

interface Stop {
  signal: NodeJS.Signals;
  code: number;
}

/** Help texts load the store layout (for the default store path): only when asked for. */
const help = () => import("./help.js");

export async function main(argv: string[]): Promise<number> {
  guardPipes();
  const [first] = argv;
  if (first === undefined) {
    err((await help()).topHelp(COMMANDS, { here: true }));
    return EXIT.usage;
  }
  if (first === "-h" || first === "--help" || first === "help") {
    out((await help()).topHelp(COMMANDS, { here: true }));
    return EXIT.ok;
  }
  if (first === "--version" || first === "-V" || first === "version") {
    out(`${version()}\n`);
    return EXIT.ok;
  }
  const { entry, rest, group } = resolve(argv);
  if (!entry) {
    if (group !== undefined) {
      const wantsHelp = rest[0] === "--help" || rest[0] === "-h";
      if (wantsHelp) out((await help()).groupHelp(group, groupCommands(group)));
      else {
        const what = rest[0] === undefined ? "missing" : `unknown ${JSON.stringify(rest[0])}`;
        err(
          `chunkpull ${group}: ${what} subcommand [EUSAGE]; hint: see 'chunkpull ${group} --help'\n`,
        );
      }
      return wantsHelp ? EXIT.ok : EXIT.usage;
    }
    const what = first.startsWith("-")
      ? `unknown option ${first}`
      : `unknown command ${JSON.stringify(first)}`;
    err(`chunkpull: ${what} [EUSAGE]; hint: see 'chunkpull --help'\n`);
    return EXIT.usage;
  }

  const debug = rest.includes("--debug");
  const abort = new AbortController();
  const stores = new Set<string>();
  let stopped: Stop | undefined;
  let grace: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    if (stopped) process.exit(code); // a second Ctrl-C: leave now
    stopped = { signal, code };
    abort.abort(new Error(`interrupted by ${signal}`));
    // A command that ignores the signal still ends within the grace period.
    grace = setTimeout(
      () => void finishStop(stopped!, stores).then((c) => process.exit(c)),
      SIGNAL_GRACE_MS,
    );
  };
  const sigint = () => onSignal("SIGINT", EXIT.sigint);
  const sigterm = () => onSignal("SIGTERM", EXIT.sigterm);
  process.on("SIGINT", sigint);
  process.on("SIGTERM", sigterm);
  try {
    const spec = await entry.load();
    const { values, positionals } = parseInvocation(spec, rest, GLOBAL_OPTIONS);
    if (values.help === true) {
      out((await help()).commandHelp(spec, entry.summary, { here: true }));
      return EXIT.ok;
    }
    if (debug) (await import("./debug-log.js")).enableDebugLog();
    const inv: Invocation = {
      values,
      positionals,
      args: rest.filter((a) => a !== "--debug"),
      signal: abort.signal,
      debug,
      quiet: values.quiet === true,
      useStore: (dir) => stores.add(dir),
    };
    const code = await spec.run(inv);
    return stopped ? await finishStop(stopped, stores) : code;
  } catch (e) {
    if (stopped) return finishStop(stopped, stores);
    const d = describeError(e, entry.name);
    err(`${d.line}\n`);
    if (debug && d.code === "EINTERNAL" && e instanceof Error && e.stack) err(`${e.stack}\n`);
    return d.usage ? EXIT.usage : EXIT.failure;
  } finally {
    clearTimeout(grace);
    process.off("SIGINT", sigint);
    process.off("SIGTERM", sigterm);
  }
}

let finishing: Promise<number> | undefined;
/** One line, our temp files gone, the signal's exit code. */
function finishStop(stop: Stop, stores: Set<string>): Promise<number> {
  finishing ??= (async () => {
    let removed = 0;
    for (const dir of stores) removed += await removeOwnTempFiles(dir);
    err(
      `chunkpull: interrupted by ${stop.signal}; stopped${removed > 0 ? `, removed ${removed} temp file(s)` : ""}, the store is consistent\n`,
    );
    return stop.code;
  })();
  return finishing;
}

// Before any command module loads: they all come through dynamic imports (commands.ts).
enableCompileCache();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    err(`chunkpull: internal error: ${(e as Error)?.message ?? e} [EINTERNAL]\n`);
    process.exitCode = EXIT.failure;
  },
);
