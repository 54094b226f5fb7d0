/** Argument parsing shared by the commands: node:util parseArgs with usage errors we own. */
import { readFile } from "node:fs/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../errors.js";
import type { CommandSpec, OptionSpec } from "./spec.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** node's parse errors are paragraphs; ours are one line naming the option. */
function parseError(err: unknown): UsageError {
  const e = err as { code?: string; message?: string };
  const quoted = /'(-[^' ]*)/.exec(e.message ?? "")?.[1];
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`unknown option ${quoted ?? e.message}`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return new UsageError(
        /argument missing/.test(e.message ?? "")
          ? `option ${quoted} needs a value`
          : `option ${quoted} takes no value`,
      );
    default:
      return new UsageError(String(e.message ?? err).split("\n")[0]!);
  }
}

export function parse(args: string[], options: Options, positionals: string[]) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw parseError(err);
  }
  if (parsed.positionals.length !== positionals.length) {
    throw new UsageError(
      `expected ${positionals.join(" ") || "no arguments"}, got ${parsed.positionals.length} argument(s)`,
    );
  }
  return {
    values: parsed.values as Record<string, string | boolean | undefined>,
    positionals: parsed.positionals,
  };
}

export function toParseOptions(specs: readonly OptionSpec[]): Options {
  const out: Options = {};
  for (const o of specs) {
    out[o.name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  return out;
}

/** Parses `args` against a command's spec (plus the global options); checks the positionals. */
export function parseInvocation(
  spec: CommandSpec,
  args: string[],
  globals: readonly OptionSpec[],
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: toParseOptions([...spec.options, ...globals]),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw parseError(err);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help === true) return { values, positionals: parsed.positionals };
  const min = spec.positionals.filter((p) => !p.optional).length;
  const max = spec.positionals.length;
  const got = parsed.positionals.length;
  if (got < min) {
    throw new UsageError(
      `missing ${spec.positionals
        .slice(got, min)
        .map((p) => p.name)
        .join(" ")}`,
    );
  }
  if (got > max) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`);
  }
  return { values, positionals: parsed.positionals };
}

/** Reads a flat JSON object of descriptor annotations (string values only). */
export async function readAnnotationsFile(path: string): Promise<Record<string, string>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new UsageError(`--annotations ${path}: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`--annotations ${path}: expected a flat JSON object`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string")
      throw new UsageError(`--annotations ${path}: value of ${k} is not a string`);
  }
  return value as Record<string, string>;
}

export function str(
  values: Record<string, string | boolean | string[] | undefined>,
  name: string,
): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** A positive integer option (`--concurrency 4`), or undefined when absent. */
export function positiveInt(
  values: Record<string, string | boolean | string[] | undefined>,
  name: string,
): number | undefined {
  const text = str(values, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer`);
  return n;
}
