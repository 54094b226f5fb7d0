/** docs/cli.md carries the real --help texts: this fails when a command's help changes and the doc does not. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { CLI_DOC, cliReference, withReference } from "../../src/cli/cli-docs.js";
import { COMMANDS } from "../../src/cli/commands.js";
import { runChild } from "./child.js";

test("docs/cli.md's reference section equals the generated help (npm run docs:cli)", async () => {
  const doc = await readFile(CLI_DOC, "utf8");
  assert.equal(doc, await withReference(doc), "docs/cli.md is stale: run `npm run docs:cli`");
});

test("the generated reference is what the built CLI prints for --help", async () => {
  const reference = await cliReference();
  for (const entry of COMMANDS) {
    // The terminal adds where the default store is here; the doc leaves that out.
    const r = await runChild([...entry.name.split(" "), "--help"]);
    assert.equal(r.code, 0, r.stderr);
    const printed = r.stdout.replace(/;\s+here\s[^)]*\)/g, ")").replace(/\s+/g, " ");
    assert.ok(
      reference.replace(/\s+/g, " ").includes(printed.trim()),
      `${entry.name} --help is not in the reference`,
    );
  }
});
