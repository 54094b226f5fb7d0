/**
 * Terminal conventions of the built CLI, as a user meets them: --help on every command and
 * group, --version, one-line usage errors with a code and a hint, a closed pipe (EPIPE) that
 * ends quietly without stopping a pull, progress that does not flood a log, colours only on a
 * terminal and never with NO_COLOR, and Ctrl-C / SIGTERM that stop cleanly.
 */
import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  assembleImage,
  type BuiltImage,
  buildLayer,
  pushImage,
} from "../../mock-registry/src/image/build.js";
import { binaryContent, makeTar } from "../../mock-registry/src/image/sample-app.js";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { COMMANDS } from "../../src/cli/commands.js";
import { GLOBAL_OPTIONS } from "../../src/cli/spec.js";
import { type SampleImages, sampleImages, tempDir } from "../pull/helpers.js";
import { cleanEnv, runChild, runInTerminal } from "./child.js";
import { ROOT } from "./helpers.js";

const ONE_ERROR_LINE = /^chunkpull [a-z ]+: [^\n]+ \[E[A-Z]+\]; hint: [^\n]+\n$/;

describe("help, version and usage errors", { concurrency: 2 }, () => {
  test("every command and subcommand has --help with its options, defaults and examples", async () => {
    for (const entry of COMMANDS) {
      const spec = await entry.load();
      const r = await runChild([...entry.name.split(" "), "--help"], {
        env: cleanEnv({ XDG_CACHE_HOME: "/srv/cache" }),
      });
      assert.equal(r.code, 0, `${entry.name} --help: ${r.stderr}`);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, new RegExp(`^chunkpull ${entry.name}: `));
      for (const o of [...spec.options, ...GLOBAL_OPTIONS]) {
        assert.ok(r.stdout.includes(`--${o.name}`), `${entry.name} --help lists --${o.name}`);
        const flat = r.stdout.replace(/\s+/g, " ");
        if (o.default)
          assert.ok(
            flat.includes(`(default: ${o.default}`),
            `${entry.name}: --${o.name}'s default`,
          );
      }
      assert.match(r.stdout, /\nexamples:\n {2}chunkpull /);
      if (spec.options.some((o) => o.name === "store" && o.default)) {
        // The default store location, resolved for this environment.
        assert.match(r.stdout.replace(/\s+/g, " "), /here \/srv\/cache\/chunkpull\)/);
      }
    }
  });

  test("group words answer --help with their subcommands", async () => {
    for (const group of ["layer", "store"]) {
      const r = await runChild([group, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      for (const c of COMMANDS.filter((c) => c.name.startsWith(`${group} `)))
        assert.ok(r.stdout.includes(c.name), `${group} --help lists ${c.name}`);
    }
  });

  test("--version prints package.json's version; top-level help names the default store", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
    const v = await runChild(["--version"]);
    assert.equal(v.code, 0);
    assert.match(v.stdout, new RegExp(`^chunkpull ${pkg.version.replace(/\./g, "\\.")} `));
    const h = await runChild(["--help"], { env: cleanEnv({ XDG_CACHE_HOME: "/srv/cache" }) });
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--version +print the version/);
    assert.match(h.stdout, /here \/srv\/cache\/chunkpull/);
    for (const c of COMMANDS) assert.ok(h.stdout.includes(c.name));
  });

  test("usage errors are one line with EUSAGE and a hint, exit 2", async () => {
    const cases = [
      ["pull", "localhost:1/x:y", "--help-me"],
      ["pull"],
      ["pull", "a", "b"],
      ["store", "ls", "--store"],
      ["pull", "localhost:1/x:y", "--concurrency", "0"],
    ];
    for (const args of cases) {
      const r = await runChild(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, ONE_ERROR_LINE, args.join(" "));
      assert.match(r.stderr, /\[EUSAGE\]; hint: see 'chunkpull [a-z ]+--help'/);
      assert.equal(r.stdout, "");
    }
    const unknown = await runChild(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.equal(
      unknown.stderr,
      `chunkpull: unknown command "frobnicate" [EUSAGE]; hint: see 'chunkpull --help'\n`,
    );
  });
});

/** One gzip layer of incompressible bytes: a full pull of several MiB. */
async function bigImage(mib: number): Promise<BuiltImage> {
  const tar = makeTar([{ name: "blob.bin", data: binaryContent(mib << 20, 99) }]);
  return assembleImage([await buildLayer(tar, "gzip")]);
}

describe("pulls in a terminal, a pipe and a log", () => {
  let reg: MockRegistry;
  let images: SampleImages;
  let big: BuiltImage;
  let dir: string;
  before(async () => {
    reg = await startMockRegistry();
    images = await sampleImages("zstd:chunked");
    await pushImage(reg, "t/app", "v1", images.v1);
    await pushImage(reg, "t/app", "v2", images.v2);
    big = await bigImage(6);
    await pushImage(reg, "t/big", "v1", big);
    await pushImage(reg, "t/slow", "v1", big);
    // ~8 s for the whole blob: time enough to interrupt it mid-fetch.
    reg.setModes({ bandwidthBytesPerSecond: 768 << 10 }, "t/slow");
    dir = await tempDir("chunkpull-terminal-");
  });
  after(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("a closed stdout (store ls --json | head) ends quietly, no stack", async () => {
    const store = join(dir, "s-epipe");
    const first = await runChild(["pull", `${reg.host}/t/app:v1`, "--store", store, "-q"]);
    assert.equal(first.code, 0, first.stderr);
    const r = await runChild(["store", "ls", "--store", store, "--json"], { closeStdout: true });
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
  });

  test("a closed stderr does not stop a pull: it finishes and says so on stdout", async () => {
    const store = join(dir, "s-stderr");
    const r = await runChild(
      ["pull", `${reg.host}/t/big:v1`, "--store", store, "--progress", "plain"],
      { closeStderr: true },
    );
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^pulled /);
    const ls = await runChild(["store", "ls", "--store", store, "--json"]);
    const { layers } = JSON.parse(ls.stdout) as { layers: Array<{ diffId: string }> };
    assert.deepEqual(
      layers.map((l) => l.diffId),
      big.layers.map((l) => l.diffId),
    );
  });

  test("the summary names each layer's diff_id and the bytes saved", async () => {
    const store = join(dir, "s-summary");
    await runChild(["pull", `${reg.host}/t/app:v1`, "--store", store, "-q"]);
    const r = await runChild(["pull", `${reg.host}/t/app:v2`, "--store", store, "-q"]);
    assert.equal(r.code, 0, r.stderr);
    for (const l of images.v2.layers) assert.ok(r.stdout.includes(`diff_id ${l.diffId}`));
    assert.match(
      r.stdout,
      /\nfetched [\d.]+ [KM]iB of [\d.]+ MiB \([\d.]+%\) in \d+ request\(s\); saved [\d.]+ MiB\n$/,
    );
    assert.doesNotMatch(r.stdout, /full +fetched.*files from store 0\//);
  });

  test("without a terminal, a full pull logs a few short lines, not one per MiB", async () => {
    const r = await runChild(["pull", `${reg.host}/t/big:v1`, "--store", join(dir, "s-log")]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.ok(lines.length <= 8, `${lines.length} lines:\n${r.stderr}`);
    for (const l of lines) assert.ok(l.length <= 140, `long line: ${l}`);
    assert.ok(
      lines.some((l) => / fetch +[\d.]+ (B|KiB|MiB) of 6\.\d+ MiB/.test(l)),
      r.stderr,
    );
    assert.match(lines.at(-1)!, /^fetched .* saved /);
    assert.doesNotMatch(r.stderr, /\x1b\[/);
  });

  test("on a terminal: redrawn layer lines, colour unless NO_COLOR", async () => {
    const args = ["pull", `${reg.host}/t/app:v1`, "--store", join(dir, "s-tty1")];
    const colour = await runInTerminal(args);
    assert.equal(colour.code, 0, colour.stdout);
    assert.match(colour.stdout, /\x1b\[2K/); // lines redrawn in place
    assert.match(colour.stdout, /\x1b\[32m/); // done in green
    assert.match(colour.stdout, /sha256:[0-9a-f]{12} done/);
    const plain = await runInTerminal(
      ["pull", `${reg.host}/t/app:v1`, "--store", join(dir, "s-tty2")],
      { env: cleanEnv({ NO_COLOR: "1" }) },
    );
    assert.equal(plain.code, 0, plain.stdout);
    assert.match(plain.stdout, /\x1b\[2K/);
    assert.doesNotMatch(plain.stdout, /\x1b\[3\dm/);
  });

  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    test(`${signal} mid-pull: one line, no temp files of the pull left, exit ${code}`, async () => {
      const store = join(dir, `s-${signal}`);
      let pid = 0;
      let sent = false;
      const r = await runChild(
        ["pull", `${reg.host}/t/slow:v1`, "--store", store, "--progress", "plain"],
        {
          onStderr: (text, child) => {
            pid = child.pid ?? 0;
            if (!sent && / fetch +/.test(text)) {
              sent = true;
              child.kill(signal);
            }
          },
        },
      );
      assert.ok(sent, `the pull never reached its fetch phase: ${r.stderr}`);
      assert.equal(r.code, code, r.stderr);
      const tail = r.stderr.slice(r.stderr.lastIndexOf("chunkpull:"));
      assert.match(tail, new RegExp(`^chunkpull: interrupted by ${signal}; [^\\n]+\\n$`));
      const left = (await readdir(join(store, "tmp"))).filter((n) => n.startsWith(`${pid}-`));
      assert.deepEqual(left, []);
      const ls = await runChild(["store", "ls", "--store", store, "--json"]);
      assert.deepEqual(JSON.parse(ls.stdout).layers, []);
    });
  }
});
