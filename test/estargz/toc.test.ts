import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { normalizeTocName, parseToc } from "../../src/formats/estargz/toc.js";
import { encodeTocJson, goJsonString } from "../../src/formats/estargz/toc-encode.js";
import { CASES, hasVector, vectorFile } from "./helpers.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const parse = (entries: unknown, dataEnd = 10_000) =>
  parseToc(Buffer.from(JSON.stringify({ version: 1, entries })), dataEnd);

describe("TOC encoding is Go's MarshalIndent", () => {
  for (const name of CASES.filter((c) => hasVector(c, "estargz"))) {
    it(`${name}: parse + encode reproduces the reference bytes`, () => {
      const json = vectorFile(name, "estargz.toc.json");
      assert.deepEqual(encodeTocJson(parseToc(json, Number.MAX_SAFE_INTEGER)), json);
    });
  }

  it("escapes strings like Go >= 1.22 (HTML-safe, short \\b \\f, U+2028)", () => {
    assert.equal(goJsonString('a"b\\c\n\t\r\b\f'), '"a\\"b\\\\c\\n\\t\\r\\b\\f"');
    assert.equal(goJsonString("<&>\u0001\u2028é"), '"\\u003c\\u0026\\u003e\\u0001\\u2028é"');
    // Go's appendString writes invalid UTF-8 as the escape \ufffd (a lone surrogate is its JS twin).
    assert.equal(goJsonString("x\ud800y"), '"x\\ufffdy"');
  });

  it("an empty entry list is null, xattrs are sorted", () => {
    assert.equal(
      encodeTocJson({ version: 1, entries: [] }).toString(),
      '{\n\t"version": 1,\n\t"entries": null\n}',
    );
    const text = encodeTocJson({
      version: 1,
      entries: [{ name: "d", type: "dir", xattrs: { "user.b": "Yg==", "user.a": "" } }],
    }).toString();
    assert.match(text, /"xattrs": \{\n\t\t\t\t"user.a": "",\n\t\t\t\t"user.b": "Yg=="\n\t\t\t\}/);
  });
});

describe("TOC validation", () => {
  it("accepts null entries, unknown keys (legacy NumLink) and reports them", () => {
    assert.deepEqual(parseToc(Buffer.from('{"version":1,"entries":null}'), 10).entries, []);
    const unknown = new Set<string>();
    parseToc(
      Buffer.from('{"version":1,"entries":[{"name":"a","type":"dir","NumLink":0}]}'),
      10,
      unknown,
    );
    assert.deepEqual([...unknown], ["NumLink"]);
  });

  it("normalises names and refuses .. and NUL", () => {
    assert.equal(normalizeTocName("./a//b/", "t"), "a/b");
    assert.equal(normalizeTocName("/", "t"), "");
    assert.throws(() => normalizeTocName("a/../../etc/passwd", "t"), /"\.\."/);
    assert.throws(() => parse([{ name: "../x", type: "dir" }]), { name: "FormatError" });
    assert.throws(() => parse([{ name: "a\u0000b", type: "dir" }]), /NUL/);
  });

  const reg = (over: Record<string, unknown> = {}) => ({
    name: "f",
    type: "reg",
    size: 10,
    offset: 100,
    digest: D("a"),
    chunkDigest: D("b"),
    ...over,
  });
  const bad: Array<[string, unknown[], RegExp]> = [
    ["unknown type", [{ name: "x", type: "socket" }], /unknown type/],
    ["negative size", [reg({ size: -1 })], /size/],
    ["fractional offset", [reg({ offset: 1.5 })], /offset/],
    ["payload without offset", [reg({ offset: undefined })], /no offset/],
    ["offset at the TOC", [reg({ offset: 10_000 })], /not before the TOC/],
    ["offsets going back", [reg({ offset: 200 }), reg({ name: "g", offset: 100 })], /goes back/],
    ["bad digest", [reg({ chunkDigest: "sha256:xyz" })], /invalid digest/],
    [
      "chunk without file",
      [{ name: "f", type: "chunk", offset: 100, chunkDigest: D("c") }],
      /does not follow/,
    ],
    ["missing chunks", [reg({ chunkSize: 4 })], /chunks are missing/],
    [
      "gap between chunks",
      [
        reg({ chunkSize: 4 }),
        { name: "f", type: "chunk", offset: 200, chunkOffset: 5, chunkDigest: D("c") },
      ],
      /contiguous/,
    ],
    [
      "chunk past the end",
      [
        reg({ chunkSize: 4 }),
        {
          name: "f",
          type: "chunk",
          offset: 200,
          chunkOffset: 4,
          chunkSize: 7,
          chunkDigest: D("c"),
        },
      ],
      /does not fit/,
    ],
    [
      "chunk without digest",
      [reg({ chunkSize: 4 }), { name: "f", type: "chunk", offset: 200, chunkOffset: 4 }],
      /cannot be verified/,
    ],
    ["reg without digest", [reg({ digest: undefined })], /without digest/],
    ["xattr not base64", [{ name: "d", type: "dir", xattrs: { a: "!!" } }], /base64/],
    ["version 2", [], /version/],
  ];
  for (const [what, entries, message] of bad) {
    it(`rejects: ${what}`, () => {
      const json =
        what === "version 2"
          ? '{"version":2,"entries":[]}'
          : JSON.stringify({ version: 1, entries });
      assert.throws(() => parseToc(Buffer.from(json), 10_000), { name: "FormatError", message });
    });
  }

  it("accepts a legacy unchunked file without chunkDigest (file digest vouches)", () => {
    assert.equal(parse([reg({ chunkDigest: undefined })]).entries.length, 1);
  });

  it("accepts chunkSize == size and a full last chunk with chunkSize (Go writer)", () => {
    parse([reg({ chunkSize: 10 })]);
    parse([
      reg({ chunkSize: 5 }),
      { name: "f", type: "chunk", offset: 200, chunkOffset: 5, chunkSize: 5, chunkDigest: D("c") },
    ]);
  });
});
