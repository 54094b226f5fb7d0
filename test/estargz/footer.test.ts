import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import {
  encodeEstargzFooter,
  encodeLegacyFooter,
  isExternalTocFooter,
  parseEstargzFooter,
} from "../../src/formats/estargz/footer.js";

// Byte listings from spec estargz.md Appendix A.1, A.2, A.2b (tocOffset = 0x1234).
const A1 =
  "1f8b08040000000000ff1a00534716003030303030303030303030303132333453544152475a010000ffff0000000000000000";
const A2 =
  "1f8b08040000000000ff16003030303030303030303030303132333453544152475a010000ffff0000000000000000";
const A2B =
  "1f8b08040000000000ff15005347110053544152475a45585445524e414c544f43010000ffff0000000000000000";

describe("eStargz footers", () => {
  it("encode the spec's byte listings", () => {
    assert.equal(encodeEstargzFooter(0x1234).toString("hex"), A1);
    assert.equal(encodeLegacyFooter(0x1234).toString("hex"), A2);
    assert.equal(gunzipSync(encodeEstargzFooter(0x1234)).length, 0);
  });

  it("parse 51 and 47 bytes, from the end of a longer tail", () => {
    const tail = Buffer.concat([Buffer.alloc(9000), Buffer.from(A1, "hex")]);
    assert.deepEqual(parseEstargzFooter(tail, 9051), {
      kind: "estargz",
      size: 51,
      tocOffset: 0x1234,
    });
    const legacy = Buffer.concat([Buffer.alloc(9000), Buffer.from(A2, "hex")]);
    assert.deepEqual(parseEstargzFooter(legacy, 9047), {
      kind: "legacy",
      size: 47,
      tocOffset: 0x1234,
    });
  });

  it("accepts upper-case hex like Go's ParseInt", () => {
    const f = encodeEstargzFooter(0xabcdef);
    f.write("0000000000ABCDEF", 16, "latin1");
    assert.equal(parseEstargzFooter(f).tocOffset, 0xabcdef);
  });

  it("recognises the external-TOC footer, which has no TOC offset", () => {
    assert.ok(isExternalTocFooter(Buffer.from(A2B, "hex")));
    assert.ok(!isExternalTocFooter(Buffer.from(A1, "hex")));
    assert.throws(() => parseEstargzFooter(Buffer.from(A2B, "hex")), { name: "FormatError" });
  });

  const hostile: Array<[string, (f: Buffer) => Buffer | undefined]> = [
    ["truncated", (f) => f.subarray(1, 50)],
    ["wrong magic", (f) => void f.writeUInt8(0x1e, 0)],
    ["FLG with FNAME too", (f) => void f.writeUInt8(0x0c, 3)],
    ["subfield id", (f) => void f.write("SX", 12, "latin1")],
    ["subfield length", (f) => void f.writeUInt16LE(21, 14)],
    ["signed offset", (f) => void f.write("+000000000001234", 16, "latin1")],
    ["non-hex offset", (f) => void f.write("00000000000012g4", 16, "latin1")],
    ["missing STARGZ", (f) => void f.write("STARGY", 32, "latin1")],
    ["non-empty member (ISIZE)", (f) => void f.writeUInt8(1, 47)],
    ["broken deflate", (f) => void f.writeUInt8(0x07, 38)],
  ];
  for (const [what, mutate] of hostile) {
    it(`rejects: ${what}`, () => {
      const f = encodeEstargzFooter(0x1234);
      const mutated = mutate(f) ?? f;
      assert.throws(() => parseEstargzFooter(mutated), {
        name: "FormatError",
      });
    });
  }

  it("rejects a TOC offset at or past the footer, or a blob smaller than the footer", () => {
    assert.throws(() => parseEstargzFooter(encodeEstargzFooter(100), 151), /not before the footer/);
    assert.throws(() => parseEstargzFooter(encodeEstargzFooter(2 ** 40), 151), /not before/);
    assert.equal(parseEstargzFooter(encodeEstargzFooter(99), 151).tocOffset, 99);
    assert.throws(() => parseEstargzFooter(encodeEstargzFooter(0), 50), { name: "FormatError" });
  });

  it("rejects offsets beyond 2^53", () => {
    const f = encodeEstargzFooter(0);
    f.write("ffffffffffffffff", 16, "latin1");
    assert.throws(() => parseEstargzFooter(f), /too large/);
  });
});
