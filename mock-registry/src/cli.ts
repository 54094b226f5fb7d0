#!/usr/bin/env node
/**
 * mock-registry CLI.
 *   serve --port P --root DIR [--host H] [--auth none|basic|bearer] [--user u:p ...]
 *         [--mode name=value ...]        (value is JSON when it parses, else a string)
 *   seed  (--root DIR | --url URL) [--repo NAME] [--versions N] [--formats gzip,zstd:chunked,estargz]
 *         [--files N] [--file-size BYTES] [--seed N] [--user u:p]
 */
import { parseArgs } from "node:util";
import { copyModes } from "./modes.js";
import { type SeedFormat, seedSampleApp } from "./seed.js";
import { startMockRegistry } from "./server.js";
import type { AuthOptions, BehaviourModes } from "./types.js";

const USAGE = `usage:
  mock-registry serve [--port 5000] [--host 127.0.0.1] [--root DIR] [--auth none|basic|bearer]
                      [--user user:password ...] [--mode name=value ...]
  mock-registry seed (--root DIR | --url http://host:port) [--repo sample/app] [--versions 3]
                     [--formats gzip,zstd:chunked,estargz] [--files 40] [--file-size 49152]
                     [--seed 1] [--user user:password]`;

function fail(message: string): never {
  process.stderr.write(`mock-registry: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseUsers(values: string[] | undefined): Record<string, string> {
  const users: Record<string, string> = {};
  for (const v of values ?? []) {
    const colon = v.indexOf(":");
    if (colon <= 0) fail(`--user wants user:password, got ${JSON.stringify(v)}`);
    users[v.slice(0, colon)] = v.slice(colon + 1);
  }
  return users;
}

function parseModeArgs(values: string[] | undefined): Partial<BehaviourModes> {
  const raw: Record<string, unknown> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf("=");
    if (eq <= 0) fail(`--mode wants name=value, got ${JSON.stringify(v)}`);
    const text = v.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // a bare string such as multiRange=status501
    }
    raw[v.slice(0, eq)] = value;
  }
  try {
    return copyModes(raw);
  } catch (e) {
    fail((e as Error).message);
  }
}

function authOf(kind: string | undefined, users: Record<string, string>): AuthOptions {
  switch (kind ?? "none") {
    case "none":
      return { kind: "none" };
    case "basic":
      return { kind: "basic", users };
    case "bearer":
      return { kind: "bearer", users };
    default:
      fail(`--auth must be none, basic or bearer, got ${JSON.stringify(kind)}`);
  }
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "5000" },
      host: { type: "string", default: "127.0.0.1" },
      root: { type: "string" },
      auth: { type: "string" },
      user: { type: "string", multiple: true },
      mode: { type: "string", multiple: true },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${values.port}`);
  const reg = await startMockRegistry({
    port,
    host: values.host,
    storage: values.root ? { kind: "dir", root: values.root } : { kind: "memory" },
    auth: authOf(values.auth, parseUsers(values.user)),
    modes: parseModeArgs(values.mode),
  });
  process.stdout.write(
    `mock-registry listening on ${reg.url} (storage origin ${reg.storageUrl})\n`,
  );
  const stop = async () => {
    await reg.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

async function seed(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      root: { type: "string" },
      url: { type: "string" },
      repo: { type: "string" },
      versions: { type: "string" },
      formats: { type: "string" },
      files: { type: "string" },
      "file-size": { type: "string" },
      seed: { type: "string" },
      user: { type: "string" },
    },
  });
  if (!values.root === !values.url) fail("seed needs exactly one of --root or --url");
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer`);
    return n;
  };
  const formats = values.formats?.split(",").map((f) => f.trim()) as SeedFormat[] | undefined;
  for (const f of formats ?? []) {
    if (!["gzip", "zstd:chunked", "estargz"].includes(f))
      fail(`unknown format ${JSON.stringify(f)}`);
  }
  const options = {
    ...(values.repo ? { repo: values.repo } : {}),
    ...(formats ? { formats } : {}),
    versions: num(values.versions, "versions"),
    appFiles: num(values.files, "files"),
    fileSize: num(values["file-size"], "file-size"),
    seed: num(values.seed, "seed"),
    ...(values.user
      ? { authorization: `Basic ${Buffer.from(values.user).toString("base64")}` }
      : {}),
  };
  const clean = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  let images: Awaited<ReturnType<typeof seedSampleApp>>;
  if (values.url) {
    images = await seedSampleApp(values.url, clean);
  } else {
    const reg = await startMockRegistry({ storage: { kind: "dir", root: values.root! } });
    try {
      images = await seedSampleApp(reg, clean);
    } finally {
      await reg.close();
    }
  }
  for (const img of images) process.stdout.write(`${img.reference} ${img.manifestDigest}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === "serve") return serve(rest);
  if (command === "seed") return seed(rest);
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  fail(command === undefined ? "missing command" : `unknown command ${JSON.stringify(command)}`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`mock-registry: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
