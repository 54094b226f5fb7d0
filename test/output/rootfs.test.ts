import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chown, lstat, mkdir, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  END_OF_ARCHIVE,
  encodeTarHeader,
  type TarHeaderInit,
  tarPadding,
} from "../../src/formats/tar/index.js";
import { readTar } from "../../src/formats/tar/reader.js";
import type { TarHeader } from "../../src/formats/tar/types.js";
import { writeRootfs } from "../../src/output/rootfs.js";
import { UnsafePathError } from "../../src/output/rootfs-path.js";
import { toolSkip } from "../helpers/docker-registry.js";
import { readVector } from "../helpers/vectors.js";
import { tempDir } from "../pull/helpers.js";

const run = promisify(execFile);

async function* chunks(buf: Buffer): AsyncGenerator<Buffer> {
  // Odd-sized pieces, so entries straddle reads.
  for (let i = 0; i < buf.length; i += 3000) yield buf.subarray(i, i + 3000);
}

async function headersOf(tar: Buffer): Promise<TarHeader[]> {
  const out: TarHeader[] = [];
  for await (const ev of readTar([tar])) if (ev.type === "entry") out.push(ev.header);
  return out;
}

/** xattrs of a path as name -> hex, read with getfattr (never following a final symlink). */
async function xattrsOf(path: string): Promise<Map<string, string>> {
  const { stdout } = await run("getfattr", [
    "-h",
    "-d",
    "-m",
    "-",
    "-e",
    "hex",
    "--absolute-names",
    path,
  ]);
  const m = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.indexOf("=");
    m.set(i < 0 ? line : line.slice(0, i), i < 0 ? "" : line.slice(i + 3));
  }
  return m;
}

const TYPE_BITS: Record<string, number> = {
  "0": 0o100000,
  "5": 0o040000,
  "2": 0o120000,
  "3": 0o020000,
  "4": 0o060000,
  "6": 0o010000,
};

/** Every entry of `tar` is in `root` as the header says (whiteouts: their marker is absent). */
async function assertReproduces(root: string, tar: Buffer): Promise<number> {
  let checked = 0;
  for (const h of await headersOf(tar)) {
    const rel = h.name.replace(/^\.\//, "").replace(/\/$/, "");
    const path = join(root, rel);
    if (rel === "" || rel === ".") continue; // the root keeps its own metadata
    const base = rel.split("/").pop()!;
    if (base.startsWith(".wh.")) {
      await assert.rejects(lstat(path), { code: "ENOENT" }, `${rel}: whiteout marker extracted`);
      continue;
    }
    const st = await lstat(path);
    const type = h.typeflag === "1" ? "0" : h.typeflag;
    assert.equal(st.mode & 0o170000, TYPE_BITS[type], `${rel}: type`);
    if (type !== "2") assert.equal(st.mode & 0o7777, h.mode & 0o7777, `${rel}: mode`);
    assert.equal(st.uid, h.uid, `${rel}: uid`);
    assert.equal(st.gid, h.gid, `${rel}: gid`);
    if (h.typeflag === "0") assert.equal(st.size, h.size, `${rel}: size`);
    if (type === "2") assert.equal(await readlink(path), h.linkname, `${rel}: link target`);
    if (type === "3" || type === "4") {
      assert.equal(st.rdev, makedev(h.devmajor, h.devminor), `${rel}: device`);
    }
    if (h.typeflag === "1") {
      const target = await lstat(join(root, h.linkname));
      assert.equal(st.ino, target.ino, `${rel}: hard link`);
    } else {
      assert.equal(Math.floor(st.mtimeMs / 1000), h.mtime.sec, `${rel}: mtime`);
    }
    const xattrs = await xattrsOf(path);
    for (const [name, value] of h.xattrs) {
      assert.equal(xattrs.get(name), value.toString("hex"), `${rel}: xattr ${name}`);
    }
    checked++;
  }
  return checked;
}

/** Linux's makedev for the glibc encoding (large majors/minors included). */
function makedev(major: number, minor: number): number {
  return (
    (minor & 0xff) +
    ((major & 0xfff) << 8) +
    (minor & ~0xff) * 0x1000 +
    (major & ~0xfff) * 0x100000000
  );
}

function tarOf(entries: (TarHeaderInit & { data?: string })[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? "");
    parts.push(
      encodeTarHeader({ mode: 0o644, ...e, size: data.length }),
      data,
      tarPadding(data.length),
    );
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

const skipTools = toolSkip(["getfattr", "setfattr", "mknod"]);

describe("--rootfs", { skip: skipTools }, () => {
  for (const name of ["special", "pax", "rootfs", "gnutar"]) {
    test(`the ${name} vector's every entry is reproduced (types, modes, owners, devices, xattrs, times)`, async () => {
      const tar = readVector(name, "input.tar");
      const root = join(await tempDir("chunkpull-rootfs-"), "root");
      const r = await writeRootfs(root, [{ tar: chunks(tar) }]);
      assert.equal(r.layers, 1);
      const checked = await assertReproduces(root, tar);
      assert.ok(checked > 5, `checked ${checked} entries`);
    });
  }

  test("whiteouts and opaque directories remove what lower layers put there", async () => {
    const root = join(await tempDir("chunkpull-rootfs-"), "root");
    const lower = tarOf([
      { name: "a/", typeflag: "5", mode: 0o755 },
      { name: "a/x", typeflag: "0", data: "x" },
      { name: "a/y", typeflag: "0", data: "y" },
      { name: "d/", typeflag: "5", mode: 0o755 },
      { name: "d/z", typeflag: "0", data: "z" },
      { name: "d/sub/", typeflag: "5", mode: 0o755 },
      { name: "gone/", typeflag: "5", mode: 0o755 },
      { name: "gone/f", typeflag: "0", data: "f" },
    ]);
    const upper = tarOf([
      { name: "a/.wh.x", typeflag: "0" },
      { name: "d/", typeflag: "5", mode: 0o750 },
      { name: "d/.wh..wh..opq", typeflag: "0" },
      { name: "d/new", typeflag: "0", data: "new" },
      { name: ".wh.gone", typeflag: "0" },
    ]);
    const r = await writeRootfs(root, [{ tar: chunks(lower) }, { tar: chunks(upper) }]);
    assert.equal(r.whiteouts, 3);
    assert.deepEqual((await readdir(root)).sort(), ["a", "d"]);
    assert.deepEqual(await readdir(join(root, "a")), ["y"]);
    assert.deepEqual(await readdir(join(root, "d")), ["new"]);
    assert.equal((await lstat(join(root, "d"))).mode & 0o7777, 0o750);
  });

  test("regular files come from the store object when one is named", async () => {
    const dir = await tempDir("chunkpull-rootfs-");
    await writeFile(join(dir, "object"), "from the store");
    const tar = tarOf([{ name: "f", typeflag: "0", data: "from the tar!!" }]);
    const r = await writeRootfs(join(dir, "root"), [
      {
        tar: chunks(tar),
        objectFor: (name, size) => (name === "f" && size === 14 ? join(dir, "object") : undefined),
      },
    ]);
    assert.equal(r.filesFromStore, 1);
    assert.equal(await readFile(join(dir, "root", "f"), "utf8"), "from the store");
  });

  const escapes: [string, (TarHeaderInit & { data?: string })[]][] = [
    ["a `..` name", [{ name: "../outside/evil", typeflag: "0", data: "evil" }]],
    ["a `..` inside a name", [{ name: "a/../../outside/evil", typeflag: "0", data: "evil" }]],
    ["an absolute name", [{ name: "/outside/evil", typeflag: "0", data: "evil" }]],
    [
      "a file through a symlink to a directory outside",
      [
        { name: "link", typeflag: "2", linkname: "../outside" },
        { name: "link/evil", typeflag: "0", data: "evil" },
      ],
    ],
    [
      "a file through an absolute symlink",
      [
        { name: "abs", typeflag: "2", linkname: "/" },
        { name: "abs/evil", typeflag: "0", data: "evil" },
      ],
    ],
    ["a hard link out", [{ name: "hl", typeflag: "1", linkname: "../outside/secret" }]],
    [
      "a hard link through a symlink",
      [
        { name: "link", typeflag: "2", linkname: "../outside" },
        { name: "hl", typeflag: "1", linkname: "link/secret" },
      ],
    ],
    [
      "a whiteout through a symlink",
      [
        { name: "link", typeflag: "2", linkname: "../outside" },
        { name: "link/.wh.secret", typeflag: "0" },
      ],
    ],
    ["a whiteout of `..`", [{ name: "sub/.wh...", typeflag: "0" }]],
    ["a whiteout of its own directory", [{ name: ".wh.", typeflag: "0" }]],
  ];
  for (const [what, entries] of escapes) {
    test(`refuses ${what}, writing nothing outside the root`, async () => {
      const dir = await tempDir("chunkpull-rootfs-");
      await mkdir(join(dir, "outside"));
      await writeFile(join(dir, "outside", "secret"), "secret");
      const root = join(dir, "root");
      await assert.rejects(writeRootfs(root, [{ tar: chunks(tarOf(entries)) }]), (err: unknown) => {
        assert.ok(err instanceof UnsafePathError, String(err));
        assert.equal(err.code, "EUNSAFEPATH");
        return true;
      });
      assert.deepEqual(await readdir(join(dir, "outside")), ["secret"]);
      assert.equal(await readFile(join(dir, "outside", "secret"), "utf8"), "secret");
      assert.equal((await lstat(join(dir, "outside", "secret"))).nlink, 1);
      assert.deepEqual((await readdir(dir)).sort(), ["outside", "root"]);
    });
  }

  test("a file replacing a symlink replaces the link, never writes through it", async () => {
    const dir = await tempDir("chunkpull-rootfs-");
    await mkdir(join(dir, "outside"));
    await writeFile(join(dir, "outside", "secret"), "secret");
    const root = join(dir, "root");
    const tar = tarOf([
      { name: "f", typeflag: "2", linkname: "../outside/secret" },
      { name: "f", typeflag: "0", data: "mine" },
    ]);
    await writeRootfs(root, [{ tar: chunks(tar) }]);
    assert.equal(await readFile(join(dir, "outside", "secret"), "utf8"), "secret");
    assert.equal(await readFile(join(root, "f"), "utf8"), "mine");
    assert.ok((await lstat(join(root, "f"))).isFile());
  });

  test("without root: read-only directories still get their children, devices are skipped", {
    skip: process.getuid?.() !== 0 || toolSkip(["setpriv"]),
  }, async (t) => {
    const modulePath = fileURLToPath(new URL("../../src/output/rootfs.js", import.meta.url));
    const asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    const readable = await run("setpriv", [...asNobody, "test", "-r", modulePath]).then(
      () => true,
      () => false,
    );
    if (!readable) {
      t.skip(`user nobody cannot read ${modulePath}`);
      return;
    }
    const dir = await tempDir("chunkpull-rootfs-");
    await chown(dir, 65534, 65534);
    const lower = tarOf([
      { name: "ro/", typeflag: "5", mode: 0o555 },
      { name: "ro/old", typeflag: "0", data: "old" },
      { name: "ro/sub/", typeflag: "5", mode: 0o500 },
      { name: "ro/sub/f", typeflag: "0", data: "f" },
      { name: "null", typeflag: "3", mode: 0o666, devmajor: 1, devminor: 3 },
    ]);
    const upper = tarOf([
      { name: "ro/.wh.old", typeflag: "0" },
      { name: "ro/new", typeflag: "0", data: "new" },
    ]);
    await writeFile(join(dir, "lower.tar"), lower);
    await writeFile(join(dir, "upper.tar"), upper);
    const rootfs = new URL("../../src/output/rootfs.js", import.meta.url).href;
    const script = `
        import { createReadStream } from "node:fs";
        import { writeRootfs } from ${JSON.stringify(rootfs)};
        const dir = ${JSON.stringify(dir)};
        const r = await writeRootfs(dir + "/root", ["lower", "upper"].map((n) => ({ tar: createReadStream(dir + "/" + n + ".tar") })));
        console.log(JSON.stringify(r));`;
    const { stdout } = await run("setpriv", [
      ...asNobody,
      process.execPath,
      "--input-type=module",
      "-e",
      script,
    ]);
    const r = JSON.parse(stdout);
    assert.equal(r.devicesSkipped, 1);
    const root = join(dir, "root");
    assert.deepEqual((await readdir(join(root, "ro"))).sort(), ["new", "sub"]);
    assert.equal((await lstat(join(root, "ro"))).mode & 0o7777, 0o555);
    assert.equal((await lstat(join(root, "ro", "sub"))).mode & 0o7777, 0o500);
    assert.equal(await readFile(join(root, "ro", "sub", "f"), "utf8"), "f");
    assert.equal((await lstat(join(root, "ro", "new"))).uid, 65534);
    await rm(dir, { recursive: true, force: true });
  });
});
