/**
 * The progress view without a terminal, on a simulated clock: phase lines, at most one fetch
 * line per layer per interval however many events arrive, with percent, rate and ETA.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ProgressView } from "../../src/cli/progress.js";
import type { Digest } from "../../src/digest.js";

test("plain progress: one fetch line per 10 s per layer, with rate and ETA", (t) => {
  const lines: string[] = [];
  t.mock.method(process.stderr, "write", (s: string) => {
    lines.push(...s.split("\n").filter(Boolean));
    return true;
  });
  let now = 0;
  const view = new ProgressView("plain", false, () => now);
  const layer = `sha256:${"ab".repeat(32)}` as Digest;
  const on = view.listener!;
  on({ kind: "layer-start", layer, size: 100 << 20, message: "start" });
  on({ kind: "fallback", layer, message: `${layer}: full pull: no TOC` });
  // 100 MiB at 1 MiB/s, one event per MiB: 100 events over 100 s.
  for (let mib = 1; mib <= 100; mib++) {
    now = mib * 1000;
    on({ kind: "fetch", layer, message: "x", bytesFetched: mib << 20, bytesTotal: 100 << 20 });
  }
  on({ kind: "layer-done", layer, message: `${layer}: verified by diff-id` });
  t.mock.restoreAll();
  const fetchLines = lines.filter((l) => / fetch /.test(l));
  assert.ok(fetchLines.length >= 9 && fetchLines.length <= 11, fetchLines.join("\n"));
  assert.equal(lines[0], "sha256:abababababab: full pull: no TOC");
  assert.match(
    fetchLines[5]!,
    /^sha256:abababababab fetch +[\d.]+ MiB of 100\.0 MiB, \d+%, 1\.00 MiB\/s, ETA \d+s$/,
  );
  assert.equal(lines.at(-1), "sha256:abababababab: verified by diff-id");
});
