/** Argument parsing shared by the commands: node:util parseArgs with usage errors we own. */
import { readFile } from "node:fs/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../errors.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export function parse(args: string[], options: Options, positionals: string[]) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length !== positionals.length) {
    throw new UsageError(
      `expected ${positionals.join(" ")}, got ${parsed.positionals.length} argument(s)`,
    );
  }
  return {
    values: parsed.values as Record<string, string | boolean | undefined>,
    positionals: parsed.positionals,
  };
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
  values: Record<string, string | boolean | undefined>,
  name: string,
): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}
