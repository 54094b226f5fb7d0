/**
 * Help texts, rendered from the command specs. `here` adds what a default resolves to on this
 * machine (the terminal's help); docs/cli.md is generated without it so it stays the same
 * everywhere (scripts/gen-cli-docs, checked by test/cli/docs-sync).
 */
import { defaultStoreDir } from "../store/layout.js";
import { type CommandEntry, type CommandSpec, GLOBAL_OPTIONS, type OptionSpec } from "./spec.js";

const WIDTH = 80;

export interface HelpOptions {
  /** Show what environment-dependent defaults resolve to here. */
  here: boolean;
}

/** Greedy word wrap; continuation lines start with `indent` spaces. */
export function wrap(text: string, indent: number, first = 0): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = "";
  let width = WIDTH - first;
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
      width = WIDTH - indent;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

function optionLabel(o: OptionSpec): string {
  const long = `--${o.name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
  return o.short ? `-${o.short}, ${long}` : `    ${long}`;
}

function defaultText(o: OptionSpec, opts: HelpOptions): string {
  if (o.default === undefined) return "";
  const here = opts.here && o.name === "store" ? `; here ${defaultStoreDir()}` : "";
  return ` (default: ${o.default}${here})`;
}

function table(rows: Array<[string, string]>): string[] {
  const col = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([label, text]) => {
    const pad =
      label.length + 2 > col ? `\n${" ".repeat(2 + col)}` : " ".repeat(col - label.length);
    return `  ${label}${pad}${wrap(text, 2 + col, 2 + col)}`;
  });
}

export function usageLine(spec: CommandSpec): string {
  const pos = spec.positionals.map((p) => (p.optional ? `[${p.name}]` : p.name)).join(" ");
  return `chunkpull ${spec.name}${pos ? ` ${pos}` : ""} [options]`;
}

export function commandHelp(spec: CommandSpec, summary: string, opts: HelpOptions): string {
  const out = [`chunkpull ${spec.name}: ${summary}`, "", `usage: ${usageLine(spec)}`];
  if (spec.description) {
    for (const para of spec.description.split(/\n\s*\n/)) out.push("", wrap(para, 0));
  }
  if (spec.positionals.length > 0) {
    out.push("", "arguments:");
    out.push(...table(spec.positionals.map((p) => [p.name, p.description])));
  }
  out.push("", "options:");
  out.push(
    ...table(
      [...spec.options, ...GLOBAL_OPTIONS].map((o) => [
        optionLabel(o),
        `${o.description}${defaultText(o, opts)}${o.multiple ? " (repeatable)" : ""}`,
      ]),
    ),
  );
  if (spec.examples.length > 0) {
    out.push("", "examples:");
    for (const e of spec.examples) out.push(`  ${e}`);
  }
  return `${out.join("\n")}\n`;
}

export function topHelp(commands: readonly CommandEntry[], opts: HelpOptions): string {
  const out = [
    "chunkpull: pull container images by fetching only the chunks this machine lacks",
    "",
    "usage: chunkpull COMMAND [options]",
    "       chunkpull COMMAND --help",
    "",
    "commands:",
    ...table(commands.map((c) => [c.name, c.summary])),
    "",
    "options:",
    ...table([
      ["-h, --help", "show this help and exit"],
      ["    --version", "print the version and exit"],
    ]),
    "",
    "environment:",
    ...table([
      [
        "XDG_CACHE_HOME",
        `the default store is $XDG_CACHE_HOME/chunkpull, else ~/.cache/chunkpull${opts.here ? ` (here ${defaultStoreDir()})` : ""}`,
      ],
      ["NO_COLOR", "when set, no colours in progress and errors"],
      [
        "REGISTRY_AUTH_FILE",
        "credentials file (else containers auth.json, then ~/.docker/config.json)",
      ],
    ]),
    "",
    "exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (SIGINT), 143 terminated (SIGTERM)",
  ];
  return `${out.join("\n")}\n`;
}

/** `chunkpull store --help`: the subcommands of one group word. */
export function groupHelp(group: string, commands: readonly CommandEntry[]): string {
  const out = [
    `usage: chunkpull ${group} COMMAND [options]`,
    `       chunkpull ${group} COMMAND --help`,
    "",
    "commands:",
    ...table(commands.map((c) => [c.name, c.summary])),
  ];
  return `${out.join("\n")}\n`;
}
