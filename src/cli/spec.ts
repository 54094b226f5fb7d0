/**
 * What a command declares about itself: its arguments, options (with defaults) and examples.
 * The framework (main.ts) parses against it, prints `--help` from it and docs/cli.md is generated
 * from those help texts, so adding an option is one entry here and one read in the command.
 */

export interface OptionSpec {
  /** Long name without dashes: `store` for `--store`. */
  name: string;
  short?: string;
  type: "string" | "boolean";
  /** Placeholder in help, for string options: `DIR`, `N`. */
  value?: string;
  description: string;
  /** Shown as `(default: ...)`; text, because some defaults depend on the environment. */
  default?: string;
  /** May be given more than once (values collected in order). */
  multiple?: boolean;
}

export interface PositionalSpec {
  name: string;
  description: string;
  optional?: boolean;
}

/** What a command receives: parsed values plus the raw arguments (global flags removed). */
export interface Invocation {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** The arguments as given, minus the global options; for commands that parse themselves. */
  args: string[];
  /** Aborted on SIGINT/SIGTERM: long commands pass it to the library. */
  signal: AbortSignal;
  debug: boolean;
  quiet: boolean;
  /** Registers a store directory whose temp files this process owns (removed on a signal). */
  useStore(dir: string): void;
}

export interface CommandSpec {
  /** `pull`, `store ls`. */
  name: string;
  summary: string;
  positionals: PositionalSpec[];
  options: OptionSpec[];
  /** Paragraph(s) printed after the usage line. */
  description?: string;
  /** Full command lines, without the leading `$ `. */
  examples: string[];
  run(inv: Invocation): Promise<number>;
}

/** An entry in the command table: enough for the top-level help without loading the module. */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandSpec>;
}

/** Options every command accepts (handled by the framework, not the command). */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: "help", short: "h", type: "boolean", description: "show this help and exit" },
  {
    name: "debug",
    type: "boolean",
    description:
      "log every HTTP request (method, URL without query, status) to stderr; never credentials",
  },
];

/** `--store DIR`, shared by every command that reads or writes the store. */
export const STORE_OPTION: OptionSpec = {
  name: "store",
  type: "string",
  value: "DIR",
  description: "content store directory",
  default: "$XDG_CACHE_HOME/chunkpull, else ~/.cache/chunkpull",
};

export const JSON_OPTION: OptionSpec = {
  name: "json",
  type: "boolean",
  description: "print one JSON document on stdout instead of text",
};

export const QUIET_OPTION: OptionSpec = {
  name: "quiet",
  short: "q",
  type: "boolean",
  description: "no progress on stderr (errors are still printed)",
};
