import assert from "node:assert/strict";
import { test } from "node:test";
import { FormatError } from "../../src/errors.js";
import { readTar } from "../../src/formats/tar/reader.js";
import type { TarEvent, TarHeader } from "../../src/formats/tar/types.js";
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from "../../src/formats/tar/writer.js";
import { TarSplitBuilder } from "../../src/formats/tarsplit/builder.js";
import { collect, eventBytes } from "./helpers.js";

/** Overwrite bytes of a 512-byte header block and fix its checksum (unsigned sum, like Go). */
function patch(block: Buffer, at: number, bytes: Buffer | string, signedChecksum = false): Buffer {
  const b = Buffer.from(block);
  (typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes).copy(b, at);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += signedChecksum && c >= 0x80 ? c - 256 : c;
  if (sum < 0) throw new Error("negative checksum not representable in octal");
  b.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
  return b;
}

function file(
  name: string,
  content: string | Buffer,
  extra: Partial<Parameters<typeof encodeTarHeader>[0]> = {},
): Buffer {
  const data = typeof content === "string" ? Buffer.from(content) : content;
  return Buffer.concat([
    encodeTarHeader({ name, typeflag: "0", size: data.length, mode: 0o644, ...extra }),
    data,
    tarPadding(data.length),
  ]);
}

function paxHeader(records: Buffer, typeflag = "x"): Buffer {
  const h = patch(
    encodeTarHeader({ name: "PaxHeaders/x", typeflag: "0", size: records.length }),
    156,
    typeflag,
  );
  return Buffer.concat([h, records, tarPadding(records.length)]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let n = Buffer.byteLength(body) + 1;
  while (String(n).length + Buffer.byteLength(body) !== n) n++;
  return `${n}${body}`;
}

async function events(tar: Buffer): Promise<TarEvent[]> {
  return collect(readTar([tar]));
}

async function headers(tar: Buffer): Promise<TarHeader[]> {
  return (await events(tar)).flatMap((e) => (e.type === "entry" ? [e.header] : []));
}

async function rejects(tar: Buffer, pattern: RegExp): Promise<void> {
  await assert.rejects(collect(readTar([tar])), (e: unknown) => {
    assert.ok(e instanceof FormatError, `expected FormatError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("truncated archives are FormatErrors naming the offset", async () => {
  const tar = Buffer.concat([
    file("a.txt", "hello"),
    file("b.txt", "x".repeat(1000)),
    END_OF_ARCHIVE,
  ]);
  await rejects(tar.subarray(0, 300), /truncated header at offset 0/);
  await rejects(
    tar.subarray(0, 1024 + 512 + 600),
    /truncated data of "b\.txt".*400 of 1000 bytes missing/,
  );
  await rejects(tar.subarray(0, 1024 + 100), /truncated header at offset 1024/);
});

test("bad header checksum is rejected; the signed checksum variant is accepted", async () => {
  const good = file("a.txt", "hi");
  const bad = Buffer.from(good);
  bad[0] = "b".charCodeAt(0);
  await rejects(
    Buffer.concat([file("first", "1"), bad, END_OF_ARCHIVE]),
    /invalid header at offset 1024/,
  );
  const nameBytes = Buffer.from([0x61, 0xe9, 0x2e, 0x74, 0x78, 0x74]);
  const signed = patch(good.subarray(0, 512), 0, nameBytes, true);
  const [h] = await headers(Buffer.concat([signed, good.subarray(512), END_OF_ARCHIVE]));
  assert.deepEqual(h!.nameBytes, nameBytes);
  assert.equal(h!.name, "a\ufffd.txt");
});

test("a negative (base-256) size is invalid even when PAX overrides it", async () => {
  const negative = patch(
    encodeTarHeader({ name: "neg", typeflag: "0" }),
    124,
    Buffer.alloc(12, 0xff),
  );
  const pax = paxHeader(Buffer.from(paxRecord("size", "1")));
  await rejects(
    Buffer.concat([pax, negative, Buffer.alloc(512), END_OF_ARCHIVE]),
    /offset 1024 has negative size -1/,
  );
});

test("a zero block followed by a non-zero block is invalid", async () => {
  await rejects(
    Buffer.concat([file("a", "1"), Buffer.alloc(512), file("b", "2")]),
    /zero block at offset 1024/,
  );
});

test("malformed or oversized extension headers are rejected", async () => {
  const entry = file("a.txt", "x");
  await rejects(
    Buffer.concat([paxHeader(Buffer.from("30 path=abc")), entry]),
    /PAX header at offset 0/,
  );
  await rejects(Buffer.concat([paxHeader(Buffer.from("3 a=\n")), entry]), /PAX header/);
  await rejects(Buffer.concat([paxHeader(Buffer.from(paxRecord("path", "a\0b"))), entry]), /NUL/);
  const huge = Buffer.from(paxRecord("comment", "x".repeat(1 << 20)));
  await rejects(Buffer.concat([paxHeader(huge), entry]), /size \d+ \(limit 1048576\)/);
  await rejects(Buffer.concat([paxHeader(Buffer.alloc((1 << 20) + 1, 0x61), "L"), entry]), /"L"/);
  await rejects(
    paxHeader(Buffer.from(paxRecord("path", "x"))),
    /ends at offset 1024 after an extension header/,
  );
});

test("PAX records override header fields with full time precision", async () => {
  const records = [
    paxRecord("path", "long/" + "n".repeat(150)),
    paxRecord("uid", "3000000"),
    paxRecord("mtime", "-1.5"),
    paxRecord("atime", "1.1234567891"),
    paxRecord("ctime", "7.25"),
    paxRecord("gname", ""),
    paxRecord("SCHILY.xattr.user.bin", "\x01\x02"),
    paxRecord("SCHILY.xattr.user.empty", ""),
  ].join("");
  const [h] = await headers(
    Buffer.concat([
      paxHeader(Buffer.from(records, "latin1")),
      file("short", "abc", { gname: "grp" }),
      END_OF_ARCHIVE,
    ]),
  );
  assert.equal(h!.name, "long/" + "n".repeat(150));
  assert.equal(h!.uid, 3000000);
  assert.deepEqual(h!.mtime, { sec: -2, nsec: 500_000_000 });
  assert.deepEqual(h!.atime, { sec: 1, nsec: 123_456_789 });
  assert.deepEqual(h!.ctime, { sec: 7, nsec: 250_000_000 });
  assert.equal(h!.gname, "grp", "empty PAX values keep the header value");
  assert.deepEqual(h!.xattrs.get("user.bin"), Buffer.from([1, 2]));
  assert.deepEqual(h!.xattrs.get("user.empty"), Buffer.alloc(0));
  assert.equal(h!.format, "pax");
});

test("GNU long name/link, ustar prefix, GNU atime, base-256 numbers", async () => {
  const longName = "d/".repeat(80) + "file";
  const gnuL = patch(
    encodeTarHeader({ name: "././@LongLink", typeflag: "0", size: longName.length + 1 }),
    156,
    "L",
  );
  const gnuK = patch(encodeTarHeader({ name: "././@LongLink", typeflag: "0", size: 4 }), 156, "K");
  let link = encodeTarHeader({ name: "short", typeflag: "2", linkname: "tgt" });
  link = patch(link, 257, "ustar  \0"); // GNU magic + version
  link = patch(link, 345, "14524770400\0"); // GNU atime
  link = patch(link, 108, Buffer.from([0x80, 0, 0, 0, 0, 0x01, 0x00, 0x00])); // base-256 uid 65536
  link = patch(
    link,
    136,
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]),
  ); // mtime -2
  const tar = Buffer.concat([
    gnuL,
    Buffer.from(longName + "\0"),
    tarPadding(longName.length + 1),
    gnuK,
    Buffer.from("abc\0"),
    tarPadding(4),
    link,
    file("p".repeat(60) + "/" + "q".repeat(90), "z"),
    END_OF_ARCHIVE,
  ]);
  const [l, p] = await headers(tar);
  assert.equal(l!.name, longName);
  assert.equal(l!.linkname, "abc");
  assert.equal(l!.uid, 65536);
  assert.deepEqual(l!.mtime, { sec: -2, nsec: 0 });
  assert.deepEqual(l!.atime, { sec: 1700000000, nsec: 0 });
  assert.equal(l!.ctime, undefined);
  assert.equal(l!.format, "gnu");
  assert.equal(p!.name, "p".repeat(60) + "/" + "q".repeat(90));
  const evs = await events(tar);
  assert.equal(
    (evs[0] as { raw: Buffer }).raw.length,
    5 * 512,
    "raw = L, K (header + data block each) + header",
  );
});

test("typeflag NUL is normalised; header-only types keep their declared size (P21)", async () => {
  const dir = patch(encodeTarHeader({ name: "olddir/", typeflag: "5" }), 156, "\0");
  const reg = patch(encodeTarHeader({ name: "oldfile", typeflag: "0", size: 1 }), 156, "\0");
  const hardlink = encodeTarHeader({ name: "hl", typeflag: "1", linkname: "oldfile", size: 100 });
  const tar = Buffer.concat([
    dir,
    reg,
    Buffer.from("x"),
    tarPadding(1),
    hardlink,
    file("after", "y"),
    END_OF_ARCHIVE,
  ]);
  const hs = await headers(tar);
  assert.deepEqual(
    hs.map((h) => h.typeflag),
    ["5", "0", "1", "0"],
  );
  assert.deepEqual(
    hs.map((h) => [h.size, h.declaredSize]),
    [
      [0, 0],
      [1, 1],
      [0, 100],
      [1, 1],
    ],
  );
  const b = new TarSplitBuilder();
  let json = "";
  for (const ev of await events(tar)) json += b.push(ev);
  json += b.finish();
  // Go records size 100 with the CRC of zero bytes for the link (spec §4.4 edge case).
  assert.match(json, /\{"type":1,"name":"hl","size":100,"payload":"AAAAAAAAAAA=","position":\d+\}/);
});

test("PAX global headers are entries of type g whose raw holds their records", async () => {
  const records = Buffer.from(paxRecord("comment", "hello"));
  const tar = Buffer.concat([paxHeader(records, "g"), file("a", "1"), END_OF_ARCHIVE]);
  const evs = await events(tar);
  const g = evs[0]!;
  assert.equal(g.type, "entry");
  if (g.type !== "entry") return;
  assert.equal(g.header.typeflag, "g");
  assert.equal(g.header.size, 0);
  assert.equal(g.header.pax.get("comment"), "hello");
  assert.equal(g.raw.length, 512 + records.length);
  const next = evs[1]!;
  assert.ok(
    next.type === "entry" && next.raw.length === 512 - records.length + 512,
    "padding goes to the next entry",
  );
  assert.ok(eventBytes(evs).equals(tar));
});

test("end of archive variants and trailing bytes", async () => {
  assert.deepEqual(await events(Buffer.alloc(0)), [{ type: "end", raw: Buffer.alloc(0) }]);
  const one = await events(Buffer.concat([file("a", "1"), Buffer.alloc(512)]));
  assert.equal((one.at(-1) as { raw: Buffer }).raw.length, 511 + 512, "padding + one zero block");
  // input ending inside the padding: a clean end, and the partial padding is kept
  const cut = Buffer.concat([file("a", "1")]).subarray(0, 512 + 1 + 100);
  const evs = await events(cut);
  assert.deepEqual(evs.at(-1), { type: "end", raw: Buffer.alloc(100) });
  assert.ok(eventBytes(evs).equals(cut));
  const trailing = Buffer.concat([
    file("a", "1"),
    END_OF_ARCHIVE,
    Buffer.from("garbage after the end"),
  ]);
  const t = await events(trailing);
  assert.equal(t.at(-1)!.type, "trailing");
  assert.ok(eventBytes(t).equals(trailing));
});
