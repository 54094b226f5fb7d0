/**
 * docs/cli.md's reference section is the real `--help` texts, generated: `npm run docs:cli`
 * rewrites the part between the markers, and test/cli/docs-sync fails when they drift. The help
 * is rendered without machine-specific defaults (`here: false`), so the file is the same
 * everywhere.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { COMMANDS } from "./commands.js";
import { commandHelp, topHelp } from "./help.js";

export const BEGIN = "<!-- BEGIN GENERATED HELP: npm run docs:cli -->";
export const END = "<!-- END GENERATED HELP -->";

export async function cliReference(): Promise<string> {
  const parts = [
    "### `chunkpull --help`",
    "",
    "```",
    topHelp(COMMANDS, { here: false }).trimEnd(),
    "```",
  ];
  for (const entry of COMMANDS) {
    const spec = await entry.load();
    parts.push(
      "",
      `### \`chunkpull ${entry.name} --help\``,
      "",
      "```",
      commandHelp(spec, entry.summary, { here: false }).trimEnd(),
      "```",
    );
  }
  return parts.join("\n");
}

/** The document with its generated section replaced (markers must be present). */
export async function withReference(doc: string): Promise<string> {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start === -1 || end < start)
    throw new Error(`docs/cli.md: markers ${BEGIN} ... ${END} missing`);
  return `${doc.slice(0, start + BEGIN.length)}\n\n${await cliReference()}\n\n${doc.slice(end)}`;
}

export const CLI_DOC = fileURLToPath(new URL("../../../docs/cli.md", import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const doc = await readFile(CLI_DOC, "utf8");
  await writeFile(CLI_DOC, await withReference(doc));
  process.stdout.write(`updated ${CLI_DOC}\n`);
}
