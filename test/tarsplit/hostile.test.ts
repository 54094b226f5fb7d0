import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DigestMismatchError,
  FormatError,
  LimitExceededError,
  UnsupportedError,
} from "../../src/errors.js";
import { readTar } from "../../src/formats/tar/reader.js";
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from "../../src/formats/tar/writer.js";
import { assembleTar } from "../../src/formats/tarsplit/assemble.js";
import { TarSplitBuilder } from "../../src/formats/tarsplit/builder.js";
import { encodeEntry, type TarSplitEntry } from "../../src/formats/tarsplit/entry.js";
import { iterateHeaders } from "../../src/formats/tarsplit/headers.js";
import { readTarSplit } from "../../src/formats/tarsplit/reader.js";
import { chunked, collect } from "../tar/helpers.js";

function tarOf(files: Array<[string, string]>, trailing = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of files) {
    const data = Buffer.from(content);
    parts.push(
      encodeTarHeader({ name, typeflag: "0", size: data.length, mode: 0o644 }),
      data,
      tarPadding(data.length),
    );
  }
  return Buffer.concat([...parts, END_OF_ARCHIVE, trailing]);
}

async function build(tar: AsyncIterable<Uint8Array> | Buffer[]): Promise<string> {
  const b = new TarSplitBuilder();
  let out = "";
  for await (const ev of readTar(tar)) out += b.push(ev);
  return out + b.finish();
}

async function entriesOf(json: string): Promise<TarSplitEntry[]> {
  return collect(readTarSplit([Buffer.from(json)]));
}

async function assemble(json: string, content: Record<string, string>): Promise<Buffer> {
  const out = await collect(
    assembleTar(readTarSplit([Buffer.from(json)]), async (name) => [
      Buffer.from(content[name] ?? ""),
    ]),
  );
  return Buffer.concat(out);
}

async function rejectsWith(
  p: Promise<unknown>,
  cls: new (...a: never[]) => Error,
  re: RegExp,
): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.match((e as Error).message, re);
    return true;
  });
}

test("assembleTar checks the CRC-64 and the exact size of every file", async () => {
  const tar = tarOf([["a.txt", "hello\n"]]);
  const json = await build([tar]);
  assert.deepEqual(await assemble(json, { "a.txt": "hello\n" }), tar);
  await rejectsWith(
    assemble(json, { "a.txt": "jello\n" }),
    DigestMismatchError,
    /"a\.txt".*crc64:614c3eeee2d81000/,
  );
  await rejectsWith(
    assemble(json, { "a.txt": "hello" }),
    FormatError,
    /"a\.txt" has 5 bytes, expected 6/,
  );
  await rejectsWith(
    assemble(json, { "a.txt": "hello\n!" }),
    FormatError,
    /"a\.txt" is longer than its size 6/,
  );
});

test("duplicate cleaned paths are refused by the builder and the reader", async () => {
  await rejectsWith(
    build([
      tarOf([
        ["a/b", "1"],
        ["./a//b", "2"],
      ]),
    ]),
    FormatError,
    /duplicates of file paths not supported/,
  );
  const dup =
    encodeEntry({ type: 1, name: "x/y", size: 0, payload: null, position: 0 }) +
    encodeEntry({ type: 1, name: "x/./y/", size: 0, payload: null, position: 1 });
  await rejectsWith(entriesOf(dup), FormatError, /duplicates of file paths not supported/);
});

test("malformed tar-split lines are FormatErrors naming the line", async () => {
  const ok = encodeEntry({ type: 2, payload: Buffer.from("ab"), position: 0 });
  await rejectsWith(
    entriesOf(ok + '{"type":2,"payload":"YWI=",\n'),
    FormatError,
    /line 2: malformed JSON/,
  );
  await rejectsWith(
    entriesOf(ok + '{"type":2,"payload":"YWI=","position":5}\n'),
    FormatError,
    /line 2: position 5, expected 1/,
  );
  await rejectsWith(
    entriesOf('{"type":3,"payload":null,"position":0}\n'),
    FormatError,
    /unknown entry type 3/,
  );
  await rejectsWith(
    entriesOf('{"type":2,"payload":"Y!I=","position":0}\n'),
    FormatError,
    /invalid base64/,
  );
  await rejectsWith(
    entriesOf('{"type":1,"name":"f","size":3,"payload":"AAAA","position":0}\n'),
    FormatError,
    /3 bytes, expected 8/,
  );
  await rejectsWith(
    entriesOf('{"type":1,"name":"f","size":3,"payload":null,"position":0}\n'),
    FormatError,
    /no CRC-64/,
  );
  await rejectsWith(
    entriesOf('{"type":1,"name":"f","size":-1,"payload":null,"position":0}\n'),
    FormatError,
    /invalid size/,
  );
  await rejectsWith(entriesOf("[1,2]\n"), FormatError, /not a JSON object/);
  const long = Buffer.alloc((16 << 20) + 10, 0x20);
  await rejectsWith(
    collect(readTarSplit(chunked(long, 1 << 20))),
    LimitExceededError,
    /longer than/,
  );
});

test("readTarSplit accepts a last line without newline and blank lines", async () => {
  const a = encodeEntry({ type: 2, payload: Buffer.from("ab"), position: 0 });
  const b = encodeEntry({
    type: 1,
    name: "n",
    nameRaw: Buffer.from([0xff]),
    size: 0,
    payload: null,
    position: 1,
  });
  const got = await entriesOf(a + "\n" + b.trimEnd());
  assert.equal(got.length, 2);
  assert.deepEqual(got[1], {
    type: 1,
    name: "n",
    nameRaw: Buffer.from([0xff]),
    size: 0,
    payload: null,
    position: 1,
  });
});

test("non-UTF-8 names round-trip through name_raw", async () => {
  const header = Buffer.from(encodeTarHeader({ name: "xx", typeflag: "0", size: 2 }));
  header[0] = 0xff; // invalid UTF-8; fix the checksum
  header.fill(0x20, 148, 156);
  header.write(
    header
      .reduce((s, c) => s + c, 0)
      .toString(8)
      .padStart(6, "0") + "\0 ",
    148,
    "latin1",
  );
  const tar = Buffer.concat([header, Buffer.from("hi"), tarPadding(2), END_OF_ARCHIVE]);
  const json = await build([tar]);
  assert.match(json, /"name_raw":"\/3g=","size":2/);
  assert.deepEqual(await assemble(json, { "\ufffdx": "hi" }), tar);
  const [h] = await collect(iterateHeaders(readTarSplit([Buffer.from(json)])));
  assert.deepEqual(h!.nameBytes, Buffer.from([0xff, 0x78]));
});

test("trailing bytes become 1 MiB segments whatever the input chunking", async () => {
  const trailing = Buffer.alloc(2.5 * 1024 * 1024, 7);
  const tar = tarOf([["f", "content"]], trailing);
  const expected = await build([tar]);
  for (const size of [4099, 65536, 3 << 20])
    assert.equal(await build(chunked(tar, size)), expected, `chunk ${size}`);
  const segments = (await entriesOf(expected))
    .filter((e) => e.type === 2)
    .map((e) => e.payload.length);
  assert.deepEqual(segments.slice(-3), [1 << 20, 1 << 20, 0.5 * 1024 * 1024]);
  assert.deepEqual(await assemble(expected, { f: "content" }), tar);
});

test("sparse entries are refused by the builder; iterateHeaders checks padding", async () => {
  const sparse = Buffer.from(encodeTarHeader({ name: "s", typeflag: "0" }));
  sparse.write("S", 156, "latin1");
  sparse.write("ustar  \0", 257, "latin1");
  sparse.fill(0x20, 148, 156);
  sparse.write(
    sparse
      .reduce((s, c) => s + c, 0)
      .toString(8)
      .padStart(6, "0") + "\0 ",
    148,
    "latin1",
  );
  await rejectsWith(build([Buffer.concat([sparse, END_OF_ARCHIVE])]), UnsupportedError, /sparse/);

  const json = await build([
    tarOf([
      ["a", "1"],
      ["b", "2"],
    ]),
  ]);
  const entries = await entriesOf(json);
  const seg = entries[2];
  assert.ok(seg?.type === 2);
  seg.payload = seg.payload.subarray(0, 100); // less than the 511 bytes of padding owed
  await rejectsWith(
    collect(
      iterateHeaders(
        (async function* () {
          yield* entries;
        })(),
      ),
    ),
    FormatError,
    /expected 511 bytes of padding/,
  );
});
