import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EMPTY_SHA256 } from "../../src/digest.js";
import { FormatError } from "../../src/errors.js";
import { looksLikeStargzToc, parseToc } from "../../src/formats/zstdchunked/toc.js";
import { encodeToc } from "../../src/formats/zstdchunked/toc-encode.js";
import { tocFiles } from "../../src/formats/zstdchunked/toc-files.js";
import { casesWith, readVector } from "../helpers/vectors.js";

const bad = (json: string) => () => parseToc(Buffer.from(json));

describe("TOC parse/encode", () => {
  for (const name of casesWith("zstdchunked-v2")) {
    it(`${name}: re-encodes the c/storage TOC byte for byte`, () => {
      const text = readVector(name, "zstdchunked-v2.toc.json");
      const toc = parseToc(text);
      assert.equal(encodeToc(toc), text.toString("utf8"));
      assert.equal(looksLikeStargzToc(text), false);
    });
  }
  for (const name of casesWith("zstdchunked-v1")) {
    it(`${name}: parses the 1.43 TOC (Go-zero times, no tarSplitDigest)`, () => {
      const toc = parseToc(readVector(name, "zstdchunked-v1.toc.json"));
      assert.equal(toc.tarSplitDigest, undefined);
    });
  }

  it("matches keys case-insensitively and skips unknown keys", () => {
    const toc = parseToc(
      Buffer.from(
        '{"VERSION":1,"x":[1,{"a":2}],"entries":[{"TYPE":"symlink","Name":"a","LINKNAME":"b","whatever":{}}],"TarSplitDigest":""}',
      ),
    );
    assert.equal(toc.entries[0]!.linkName, "b");
    assert.equal(toc.version, 1);
  });

  it("defaults the digest of empty files", () => {
    const toc = parseToc(Buffer.from('{"entries":[{"type":"reg","name":"e"}]}'));
    assert.equal(toc.entries[0]!.digest, EMPTY_SHA256);
    assert.equal(encodeToc(toc), '{"version":0,"entries":[{"type":"reg","name":"e"}]}');
  });

  it("rejects trailing data, bad times, unknown types, bad digests", () => {
    assert.throws(bad('{"entries":[]} x'), FormatError);
    assert.throws(bad('{"entries":[]}{}'), FormatError);
    assert.throws(
      bad('{"entries":[{"type":"dir","name":"a","modtime":"2020-13-01T00:00:00Z"}]}'),
      FormatError,
    );
    assert.throws(bad('{"entries":[{"type":"S","name":"a"}]}'), /unknown type/);
    assert.throws(bad('{"entries":[],"tarSplitDigest":"sha256:12"}'), /tarSplitDigest/);
    assert.throws(bad('{"entries":[{"type":"reg","name":"a","size":3,"offset":5}]}'), /digest/);
    assert.throws(bad('{"entries":[{"type":"dir","name":"a","uid":-1}]}'), FormatError);
  });

  it("rejects names escaping the root and duplicate cleaned paths", () => {
    assert.throws(bad('{"entries":[{"type":"dir","name":"../etc"}]}'), /escapes/);
    assert.throws(bad('{"entries":[{"type":"dir","name":"a/../../b"}]}'), /escapes/);
    assert.throws(
      bad('{"entries":[{"type":"hardlink","name":"x","linkName":"../../y"}]}'),
      /escapes/,
    );
    assert.throws(
      bad('{"entries":[{"type":"dir","name":"./a/"},{"type":"dir","name":"a"}]}'),
      /duplicate/,
    );
    // absolute names are confined (as c/storage's CleanAbsPath does)
    const toc = parseToc(Buffer.from('{"entries":[{"type":"dir","name":"/abs/./x/"}]}'));
    assert.equal(toc.entries[0]!.name, "/abs/./x/");
  });

  const d = (c: string) => `sha256:${c.repeat(64)}`;
  const reg = (extra: string) =>
    `{"type":"reg","name":"f","size":10,"digest":"${d("a")}","offset":100,"endOffset":200${extra}}`;

  it("checks chunk structure", () => {
    assert.throws(
      bad(
        `{"entries":[{"type":"chunk","name":"f","offset":5,"chunkSize":1,"chunkDigest":"${d("b")}"}]}`,
      ),
      /without a regular file/,
    );
    // sizes do not add up
    assert.throws(
      bad(
        `{"entries":[${reg(',"chunkSize":4')},{"type":"chunk","name":"f","offset":150,"chunkOffset":4,"chunkSize":5,"chunkDigest":"${d("b")}"}]}`,
      ),
      /cover 9 bytes/,
    );
    // chunkOffset not the running sum
    assert.throws(
      bad(
        `{"entries":[${reg(',"chunkSize":4')},{"type":"chunk","name":"f","offset":150,"chunkOffset":3,"chunkSize":6,"chunkDigest":"${d("b")}"}]}`,
      ),
      /chunkOffset 3/,
    );
    assert.throws(
      bad(
        `{"entries":[${reg(',"chunkSize":4')},{"type":"chunk","name":"f","offset":150,"chunkOffset":4,"chunkSize":6,"chunkType":"holes","chunkDigest":"${d("b")}"}]}`,
      ),
      /chunkType/,
    );
    const ok = parseToc(
      Buffer.from(
        `{"entries":[${reg(',"chunkSize":4')},{"type":"chunk","name":"f","offset":150,"chunkOffset":4,"chunkSize":6,"chunkType":"zeros","chunkDigest":"${d("b")}"}]}`,
      ),
    );
    const files = tocFiles(ok, 1000);
    assert.deepEqual(
      files[0]!.chunks.map((c) => [c.offset, c.end, c.fileOffset, c.size, c.zeros]),
      [
        [100, 150, 0, 4, false],
        [150, 200, 4, 6, true],
      ],
    );
  });

  it("checks payload ranges against each other and the TOC offset", () => {
    const two = (o2: number, e2: number) =>
      parseToc(
        Buffer.from(
          `{"entries":[${reg("")},{"type":"reg","name":"g","size":1,"digest":"${d("c")}","offset":${o2},"endOffset":${e2}}]}`,
        ),
      );
    assert.equal(tocFiles(two(200, 300), 300).length, 2);
    assert.throws(() => tocFiles(two(150, 300), 1000), /overlaps/);
    assert.throws(() => tocFiles(two(200, 301), 300), /reaches the TOC/);
    assert.throws(() => tocFiles(two(300, 250), 1000), /empty/);
    // endOffset 0 (old writers): filled from the TOC offset
    const filled = tocFiles(two(200, 0), 444);
    assert.equal(filled[1]!.chunks[0]!.end, 444);
  });
});
