import assert from "node:assert/strict";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { UsageError } from "../../src/errors.js";
import { formatPaxRecord, parsePaxRecords } from "../../src/formats/tar/pax.js";
import { readTar } from "../../src/formats/tar/reader.js";
import type { TarHeader } from "../../src/formats/tar/types.js";
import {
  END_OF_ARCHIVE,
  encodeTarHeader,
  type TarHeaderInit,
  tarPadding,
} from "../../src/formats/tar/writer.js";
import { vectorFile } from "./helpers.js";

async function roundTrip(init: TarHeaderInit): Promise<{ header: TarHeader; raw: Buffer }> {
  const enc = encodeTarHeader(init);
  const size = "123456".includes(init.typeflag) ? 0 : (init.size ?? 0);
  const tar = Buffer.concat([enc, Buffer.alloc(size, 0x61), tarPadding(size), END_OF_ARCHIVE]);
  for await (const ev of readTar([tar]))
    if (ev.type === "entry") return { header: ev.header, raw: ev.raw };
  throw new Error("no entry");
}

test("headers match blocks written by Go's archive/tar (eStargz TOC and landmark)", () => {
  const tar = gunzipSync(vectorFile("small", "estargz.blob"));
  for (const name of ["stargz.index.json", ".no.prefetch.landmark"]) {
    const at = tar.indexOf(Buffer.from(name + "\0"));
    assert.ok(at >= 0 && at % 512 === 0, name);
    const goBlock = tar.subarray(at, at + 512);
    const size = Number.parseInt(goBlock.toString("latin1", 124, 135), 8);
    assert.deepEqual(encodeTarHeader({ name, typeflag: "0", size }), goBlock, name);
  }
});

test("plain fields fit a single USTAR block, long names use the prefix", async () => {
  const name = "a".repeat(120) + "/" + "b".repeat(90);
  const { header, raw } = await roundTrip({
    name,
    typeflag: "0",
    size: 10,
    mode: 0o4755,
    uid: 1000,
    gid: 1000,
    mtime: 1700000000,
    uname: "user",
    gname: "group",
  });
  assert.equal(raw.length, 512);
  assert.equal(raw.toString("latin1", 257, 265), "ustar\x0000");
  assert.equal(header.name, name);
  assert.equal(header.mode, 0o4755);
  assert.deepEqual(
    [header.uid, header.gid, header.uname, header.gname],
    [1000, 1000, "user", "group"],
  );
  assert.deepEqual(header.mtime, { sec: 1700000000, nsec: 0 });
});

test("fields that do not fit go to a PAX header and read back exactly", async () => {
  const init: TarHeaderInit = {
    name: "dir/" + "ü".repeat(200) + ".txt",
    typeflag: "0",
    size: 3,
    mode: 0o644,
    uid: 3_000_000,
    gid: 4_000_000,
    mtime: { sec: -100, nsec: 250_000_000 },
    subSecondTimes: true,
    atime: { sec: 5, nsec: 1 },
    uname: "u".repeat(40),
    gname: "g",
    xattrs: new Map([
      ["user.bin", Buffer.from([0, 1, 255])],
      ["user.empty", Buffer.alloc(0)],
    ]),
  };
  const { header, raw } = await roundTrip(init);
  assert.ok(raw.length > 1024);
  assert.equal(raw[156], "x".charCodeAt(0));
  assert.equal(raw.toString("latin1", 0, 17), "dir/PaxHeaders.0/");
  assert.equal(header.name, init.name);
  assert.deepEqual([header.uid, header.gid, header.uname], [3_000_000, 4_000_000, "u".repeat(40)]);
  assert.deepEqual(header.mtime, { sec: -100, nsec: 250_000_000 });
  assert.deepEqual(header.atime, { sec: 5, nsec: 1 });
  assert.deepEqual(header.xattrs.get("user.bin"), Buffer.from([0, 1, 255]));
  assert.deepEqual(header.xattrs.get("user.empty"), Buffer.alloc(0));
  // records are sorted by key like Go's writer
  const records = [
    ...parsePaxRecords(
      raw.subarray(512, 512 + Number.parseInt(raw.toString("latin1", 124, 135), 8)),
    ).keys(),
  ];
  assert.deepEqual(records, [...records].sort());
});

test("sub-second mtimes are rounded unless requested; huge sizes and links use PAX", async () => {
  const rounded = await roundTrip({
    name: "f",
    typeflag: "0",
    mtime: { sec: 10, nsec: 600_000_000 },
  });
  assert.deepEqual(rounded.header.mtime, { sec: 11, nsec: 0 });
  assert.equal(rounded.raw.length, 512);
  const big = encodeTarHeader({ name: "big", typeflag: "0", size: 2 ** 34 });
  assert.match(big.toString("latin1"), /\d+ size=17179869184\n/);
  const link = await roundTrip({ name: "l", typeflag: "2", linkname: "t".repeat(150) });
  assert.equal(link.header.linkname, "t".repeat(150));
  const dev = await roundTrip({ name: "dev", typeflag: "3", devmajor: 4095, devminor: 1048575 });
  assert.deepEqual([dev.header.devmajor, dev.header.devminor], [4095, 1048575]);
});

test("PAX record lengths count their own digits at every boundary", () => {
  for (let len = 80; len < 110; len++) {
    const value = Buffer.alloc(len, 0x76);
    const rec = formatPaxRecord("path", value);
    assert.equal(Number.parseInt(rec.toString("latin1"), 10), rec.length);
    assert.deepEqual(parsePaxRecords(rec).get("path"), value);
  }
});

test("unrepresentable headers are refused", () => {
  assert.throws(() => encodeTarHeader({ name: "m", typeflag: "0", mode: 0o100000000 }), UsageError);
  assert.throws(() => encodeTarHeader({ name: "d", typeflag: "3", devmajor: 2 ** 22 }), UsageError);
  assert.throws(() => encodeTarHeader({ name: "x", typeflag: "x" }), UsageError);
  assert.throws(() => encodeTarHeader({ name: "file/", typeflag: "0" }), UsageError);
  assert.equal(END_OF_ARCHIVE.length, 1024);
  assert.equal(tarPadding(513).length, 511);
  assert.equal(tarPadding(512).length, 0);
});
