/** The whole-layer rules both TOC readers apply (src/formats/tree-rules.ts). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FormatError } from "../../src/errors.js";
import { checkLayerTree, type TreeEntry } from "../../src/formats/tree-rules.js";

const ok = (entries: TreeEntry[]) => checkLayerTree(entries, "TOC");
const bad = (entries: TreeEntry[], re: RegExp) =>
  assert.throws(
    () => ok(entries),
    (e: unknown) => e instanceof FormatError && re.test(e.message),
  );

describe("layer tree rules", () => {
  test("ordinary trees, absolute and ./ names, links to files pass", () => {
    ok([
      { name: "/", type: "dir" },
      { name: "/etc", type: "dir" },
      { name: "/etc/a", type: "reg" },
      { name: "/etc/l", type: "symlink" },
      { name: "/etc/h", type: "hardlink", linkName: "/etc/a" },
      { name: "/etc/h2", type: "hardlink", linkName: "/etc/l" },
    ]);
    // A hard link may come before its target (reordered eStargz).
    ok([
      { name: "b", type: "hardlink", linkName: "a" },
      { name: "a", type: "reg" },
    ]);
  });

  test("nothing under a non-directory, in either order", () => {
    bad(
      [
        { name: "a", type: "symlink" },
        { name: "a/x", type: "reg" },
      ],
      /lies under "a", a symlink/,
    );
    bad(
      [
        { name: "a/b/x", type: "reg" },
        { name: "a/b", type: "symlink" },
      ],
      /lies under "a\/b", a symlink/,
    );
    bad(
      [
        { name: "f", type: "reg" },
        { name: "f/x", type: "dir" },
      ],
      /a reg of the same layer/,
    );
  });

  test("the root must be a directory", () => {
    bad([{ name: "/", type: "symlink" }], /layer root/);
    bad([{ name: "", type: "reg" }], /layer root/);
  });

  test("hard links name another non-directory entry of the layer", () => {
    bad([{ name: "h", type: "hardlink", linkName: "missing" }], /not in the layer/);
    bad(
      [
        { name: "d", type: "dir" },
        { name: "h", type: "hardlink", linkName: "d" },
      ],
      /the directory/,
    );
    bad([{ name: "h", type: "hardlink", linkName: "h" }], /itself/);
  });
});
