import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { raw } from "./client.js";

const CLI = fileURLToPath(new URL("../../mock-registry/src/cli.js", import.meta.url));
const run = promisify(execFile);
const basic = `Basic ${Buffer.from("u:p").toString("base64")}`;

async function startServe(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    const m = /listening on (http:\/\/\S+)/.exec(out);
    if (m) return { child, url: m[1]! };
  }
  throw new Error(`serve did not start: ${out}`);
}

describe("mock-registry CLI", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "mock-registry-cli-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test("seed --root then serve the directory with auth and modes; SIGTERM exits 0", async () => {
    const seeded = await run(process.execPath, [
      CLI,
      "seed",
      "--root",
      root,
      "--versions",
      "1",
      "--files",
      "4",
      "--file-size",
      "500",
      "--formats",
      "gzip",
    ]);
    const lines = seeded.stdout.trim().split("\n");
    assert.deepEqual(
      lines.map((l) => l.split(" ")[0]),
      ["sample/app:v1-gzip", "sample/app:v1"],
    );
    const { child, url } = await startServe([
      "--root",
      root,
      "--auth",
      "basic",
      "--user",
      "u:p",
      "--mode",
      "multiRange=status501",
      "--mode",
      "resetAfterBytes=null",
    ]);
    try {
      assert.equal((await raw(`${url}/v2/`)).status, 401);
      const cat = await raw(`${url}/v2/_catalog`, { headers: { Authorization: basic } });
      assert.deepEqual(JSON.parse(cat.body.toString()), { repositories: ["sample/app"] });
      const m = await raw(`${url}/v2/sample/app/manifests/v1-gzip`, {
        headers: { Authorization: basic, Accept: "application/vnd.oci.image.manifest.v1+json" },
      });
      const layer = JSON.parse(m.body.toString()).layers[0].digest;
      const r = await raw(`${url}/v2/sample/app/blobs/${layer}`, {
        headers: { Authorization: basic, Range: "bytes=0-1,4-5" },
      });
      assert.equal(r.status, 501);
      const modes = JSON.parse((await raw(`${url}/_mock/modes`)).body.toString());
      assert.equal(modes.global.multiRange, "status501");
    } finally {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = await exited;
      assert.equal(code, 0);
    }
  });

  test("bad arguments exit 2 with usage", async () => {
    for (const args of [
      ["serve", "--mode", "nope=1"],
      ["serve", "--auth", "weird"],
      ["seed"],
      ["frobnicate"],
    ]) {
      await assert.rejects(
        run(process.execPath, [CLI, ...args]),
        (e: { code?: number; stderr?: string }) => {
          assert.equal(e.code, 2, args.join(" "));
          assert.match(String(e.stderr), /usage:/);
          return true;
        },
      );
    }
  });
});
