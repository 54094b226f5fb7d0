/**
 * The metadata fast paths must decide exactly like the general code they short-cut:
 * - headerOf (a tar-split segment's header, parsed synchronously from memory) against the
 *   streaming tar reader on the same bytes: same header and raw length, or the same error;
 * - tar-split segment lines read straight from the bytes against the JSON path (the same line
 *   with a leading space, which the fast path never takes): same entries or the same error;
 * - cleanAbsPath/confinedPath's scan against the split-based cleaning.
 * Inputs are the reference vectors' segments and lines, mutated at random.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { normalizeTocName } from "../../src/formats/estargz/toc.js";
import { computeChecksums } from "../../src/formats/tar/block.js";
import { readTar } from "../../src/formats/tar/reader.js";
import type { TarHeader } from "../../src/formats/tar/types.js";
import { encodeEntry, type TarSplitEntry } from "../../src/formats/tarsplit/entry.js";
import { headerOf, headersOf, iterateHeaders } from "../../src/formats/tarsplit/headers.js";
import { parseTarSplit, readTarSplit } from "../../src/formats/tarsplit/reader.js";
import { cleanAbsPath, confinedPath } from "../../src/formats/zstdchunked/path.js";
import { CASES, collect, vectorFile } from "../tar/helpers.js";

type Outcome = { header: TarHeader; rawLength: number } | null | { error: string };

async function viaReader(seg: Buffer): Promise<Outcome> {
  try {
    for await (const ev of readTar([seg])) {
      if (ev.type === "entry") return { header: ev.header, rawLength: ev.raw.length };
      return null;
    }
    return null;
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

function viaHeaderOf(seg: Buffer): Outcome {
  try {
    return headerOf(seg);
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

/** Every segment payload of every vector's tar-split. */
const SEGMENTS: Buffer[] = [];
const LINES: string[] = [];
for (const name of CASES) {
  const text = vectorFile(name, "zstdchunked-v2.tarsplit.json").toString("utf8");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    LINES.push(line);
    const e = JSON.parse(line) as { type: number; payload: string | null };
    if (e.type === 2 && e.payload) SEGMENTS.push(Buffer.from(e.payload, "base64"));
  }
}

/** Rewrite a header block's checksum so that a mutated block still reaches the field parsers. */
function fixChecksum(seg: Buffer, at: number): void {
  if (seg.length < at + 512) return;
  const block = seg.subarray(at, at + 512);
  const [sum] = computeChecksums(block);
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
}

const mutation = fc.record({
  segment: fc.nat(),
  edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
  cut: fc.option(fc.nat()),
  fix: fc.boolean(),
});

test("headerOf matches the streaming tar reader on mutated vector segments", async () => {
  assert.ok(SEGMENTS.length > 20, "the vectors hold segments");
  for (const seg of SEGMENTS) assert.deepEqual(viaHeaderOf(seg), await viaReader(seg));
  await fc.assert(
    fc.asyncProperty(mutation, async ({ segment, edits, cut, fix }) => {
      const seg = Buffer.from(SEGMENTS[segment % SEGMENTS.length]!);
      for (const [pos, byte] of edits) seg[pos % seg.length] = byte;
      if (fix) for (let at = 0; at < seg.length; at += 512) fixChecksum(seg, at);
      const input = cut === null ? seg : seg.subarray(0, cut % (seg.length + 1));
      assert.deepEqual(viaHeaderOf(input), await viaReader(input));
    }),
    { numRuns: 3000 },
  );
});

test("headersOf and iterateHeaders agree on every vector's tar-split", async () => {
  let total = 0;
  for (const name of CASES) {
    const ts = vectorFile(name, "zstdchunked-v2.tarsplit.json");
    const entries = [...parseTarSplit(ts)];
    const sync = [...headersOf(entries)];
    const streamed = await collect(iterateHeaders(readTarSplit([ts])));
    assert.deepEqual(sync, streamed, name);
    total += sync.length;
  }
  assert.ok(total > 20);
});

function parseAll(text: string): TarSplitEntry[] | string {
  try {
    return [...parseTarSplit(Buffer.from(text))];
  } catch (e) {
    // JSON.parse's own message names a column, which the leading space shifts.
    const message = (e as Error).message.replace(/malformed JSON .*/, "malformed JSON");
    return `${(e as Error).constructor.name}: ${message}`;
  }
}

test("tar-split lines: the byte-level segment path decides like the JSON path", () => {
  const segmentLines = LINES.filter((l) => l.startsWith('{"type":2'));
  assert.ok(segmentLines.length > 20);
  // Each line alone at position 0, as written and with a leading space (JSON path only).
  const atZero = (l: string) => l.replace(/"position":\d+/, '"position":0');
  fc.assert(
    fc.property(
      fc.nat(),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(...'AQ=+/"\\}{:,0129 \n\t\r-_!.\u00e9')), {
        maxLength: 4,
      }),
      (i, edits) => {
        const chars = [...atZero(segmentLines[i % segmentLines.length]!)];
        for (const [pos, c] of edits) chars[pos % chars.length] = c;
        const line = chars.join("");
        assert.deepEqual(parseAll(line), parseAll(` ${line}`), line.slice(0, 80));
      },
    ),
    { numRuns: 3000 },
  );
});

test("tar-split lines: any payload text is judged like strict base64 by both paths", () => {
  const text = fc
    .array(fc.constantFrom(..."AQgw+/=-_ \t!.\u00e9"), { maxLength: 14 })
    .map((cs) => cs.join(""));
  fc.assert(
    fc.property(text, (payload) => {
      const line = `{"type":2,"payload":"${payload}","position":0}`;
      // Long enough for the byte-level path (it skips lines under 40 bytes).
      const padded = line.replace('"payload":"', '"payload":"AAAAAAAA');
      for (const l of [line, padded]) assert.deepEqual(parseAll(l), parseAll(` ${l}`), l);
    }),
    { numRuns: 5000 },
  );
});

test("tar-split lines: non-canonical but valid base64 is still accepted, invalid refused", () => {
  // "QR==" decodes to "A" (stray low bits): Go's decoder accepts it, so do we.
  const ok = parseAll('{"type":2,"payload":"QR==","position":0}\n');
  assert.ok(Array.isArray(ok));
  assert.deepEqual((ok[0] as { payload: Buffer }).payload, Buffer.from("A"));
  for (const bad of ["QQ", "Q===", "QQ=A", "Q!==", "QQ==QQ=="]) {
    const r = parseAll(`{"type":2,"payload":"${bad}","position":0}\n`);
    assert.match(String(r), /FormatError: .*invalid base64/, bad);
  }
  const file = parseAll('{"type":1,"name":"f","size":1,"payload":"AAAAAAAAAA0=","position":0}');
  assert.ok(Array.isArray(file));
});

test("tar-split duplicate paths are found through the fast name key too", () => {
  const seg = encodeEntry({ type: 2, payload: Buffer.alloc(512), position: 0 }).trim();
  const file = (name: string, position: number) =>
    encodeEntry({ type: 1, name, size: 0, payload: null, position }).trim();
  for (const [a, b] of [
    ["a/b", "a/b/"],
    ["a/b", "./a/b"],
    ["a/b", "a//b"],
    ["/a/b", "/a/./b/"],
    ["caf\u00e9", "caf\u00e9/"],
  ] as const) {
    const text = [seg, file(a, 1), file(b, 2)].join("\n").replace(/"position":0/, '"position":0');
    assert.match(String(parseAll(text)), /duplicates of file paths/, `${a} ${b}`);
  }
  const distinct = [seg, file("a/b", 1), file("a/bb", 2), file("/a/b/c", 3)].join("\n");
  assert.ok(Array.isArray(parseAll(distinct)));
});

function referenceClean(name: string): string {
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

test("cleanAbsPath's single scan equals the split-based cleaning", () => {
  const name = fc
    .array(fc.constantFrom("a", "b", "/", ".", "..", "\0", "\u00e9"), { maxLength: 12 })
    .map((p) => p.join(""));
  fc.assert(
    fc.property(name, (n) => {
      assert.equal(cleanAbsPath(n), referenceClean(n), JSON.stringify(n));
      let depth = 0;
      let escapes = false;
      for (const part of n.split("/")) {
        if (part === "" || part === ".") continue;
        depth += part === ".." ? -1 : 1;
        if (depth < 0) escapes = true;
      }
      if (n.includes("\0")) assert.throws(() => confinedPath(n, "x"), /NUL/);
      else if (escapes) assert.throws(() => confinedPath(n, () => "x"), /escapes the layer root/);
      else assert.equal(confinedPath(n, "x"), referenceClean(n));
    }),
    { numRuns: 3000 },
  );
});

test("eStargz normalizeTocName's fast path equals the split-based normalisation", () => {
  const name = fc
    .array(fc.constantFrom("a", "b", "/", ".", "..", "\0"), { maxLength: 12 })
    .map((p) => p.join(""));
  fc.assert(
    fc.property(name, (n) => {
      const parts = n.split("/").filter((p) => p !== "" && p !== ".");
      if (n.includes("\0")) assert.throws(() => normalizeTocName(n, "w"), /w: name contains a NUL/);
      else if (parts.includes("..")) assert.throws(() => normalizeTocName(n, () => "w"), /w: name/);
      else assert.equal(normalizeTocName(n, "w"), parts.join("/"), JSON.stringify(n));
    }),
    { numRuns: 3000 },
  );
});
