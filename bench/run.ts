/**
 * `npm run bench`: partial pulls measured from the server side. The mock registry runs in its
 * own process (so client and server do not share an event loop); the sample app is seeded in
 * versions; pulls go through the public `pull()`. Reported per scenario: bytes the registry sent
 * against the ideal (TOC + tar-split + the compressed chunks the store lacks), requests, wall
 * time and throughput. CHUNKPULL_BENCH_FILES / CHUNKPULL_BENCH_FILE_SIZE scale the app layer.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { httpTarget, type SeededImage, seedSampleApp } from "../mock-registry/src/seed.js";
import { openChunkedLayer } from "../src/formats/open.js";
import { lookupDigest } from "../src/pull/plan.js";
import { pull } from "../src/pull/pull.js";
import { CapabilityStore } from "../src/registry/capabilities.js";
import { createRegistryClient } from "../src/registry/client.js";
import { openStore } from "../src/store/index.js";

const here = dirname(fileURLToPath(import.meta.url));

async function startServer(): Promise<{ url: string; host: string; stop(): void }> {
  const child = spawn(
    process.execPath,
    [join(here, "..", "mock-registry", "src", "cli.js"), "serve", "--port", "0"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const line: string = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`mock registry exited ${code}`)));
  });
  const url = /listening on (\S+)/.exec(line)?.[1];
  if (!url) throw new Error(`unexpected mock registry output: ${line}`);
  return { url, host: new URL(url).host, stop: () => child.kill("SIGTERM") };
}

interface Totals {
  blobBytesSent: number;
  blobRequests: number;
  requests: number;
}

async function admin(url: string, path: string, method = "GET", body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}/_mock/${path}`, {
    method,
    ...(body !== undefined
      ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
      : {}),
  });
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

const totals = async (url: string) => ((await admin(url, "stats")) as { totals: Totals }).totals;

/** TOC + tar-split + union of compressed ranges of the chunks `storeDir` lacks (per layer). */
async function idealBytes(host: string, image: SeededImage, storeDir: string): Promise<number> {
  const client = createRegistryClient({ plainHttp: true });
  const store = await openStore(storeDir);
  let ideal = 0;
  for (const l of image.layers) {
    if (await store.getLayer(l.diffId as never)) continue;
    const src = client.rangeSource(
      { registry: host, repository: image.repo, digest: l.digest as never, size: l.size },
      l.size,
    );
    const layer = await openChunkedLayer(src, l.annotations);
    if (layer.format === "zstd:chunked") {
      ideal += layer.tocPosition.length + (layer.tarSplitPosition?.length ?? 0);
    }
    const seen = new Set<string>();
    for (const f of layer.files) {
      if (await store.hasObject(f.digest)) continue;
      for (const c of f.chunks) {
        const d = lookupDigest(f, c);
        if (c.zeros || (d && (seen.has(d) || (f.chunks.length > 1 && (await store.hasChunk(d))))))
          continue;
        if (d) seen.add(d);
        ideal += c.end - c.offset;
      }
    }
  }
  await client.close();
  return ideal;
}

interface Row {
  scenario: string;
  sent: number;
  ideal?: number;
  full: number;
  requests: number;
  seconds: number;
}

async function scenario(
  server: { url: string; host: string },
  name: string,
  image: SeededImage,
  storeDir: string,
  rows: Row[],
  opts: { ideal?: boolean } = {},
): Promise<void> {
  const ideal = opts.ideal ? await idealBytes(server.host, image, storeDir) : undefined;
  await admin(server.url, "stats/reset", "POST");
  const t0 = performance.now();
  // A fresh client per scenario: range capabilities learned in one scenario must not carry over.
  const client = createRegistryClient({ plainHttp: true, capabilities: new CapabilityStore() });
  await pull(`${server.host}/${image.reference}`, { store: storeDir, client });
  await client.close();
  const seconds = (performance.now() - t0) / 1000;
  const t = await totals(server.url);
  rows.push({
    scenario: name,
    sent: t.blobBytesSent,
    ideal,
    full: image.layers.reduce((n, l) => n + l.size, 0),
    requests: t.requests,
    seconds,
  });
}

const mb = (n: number) => (n / 1e6).toFixed(2);

async function main() {
  const server = await startServer();
  const work = await mkdtemp(join(tmpdir(), "chunkpull-bench-"));
  try {
    const images = await seedSampleApp(httpTarget(server.url), {
      repo: "bench/app",
      versions: 2,
      formats: ["zstd:chunked", "gzip"],
      appFiles: Number(process.env.CHUNKPULL_BENCH_FILES ?? 300),
      fileSize: Number(process.env.CHUNKPULL_BENCH_FILE_SIZE ?? 128 * 1024),
    });
    const img = (v: number, f: string) => images.find((i) => i.version === v && i.format === f)!;
    const rows: Row[] = [];
    const store = (n: string) => join(work, n);

    await scenario(
      server,
      "zstd:chunked v1, empty store",
      img(1, "zstd:chunked"),
      store("a"),
      rows,
      { ideal: true },
    );
    await scenario(server, "zstd:chunked v2 after v1", img(2, "zstd:chunked"), store("a"), rows, {
      ideal: true,
    });
    const modes: Array<[string, Record<string, unknown>]> = [
      ["v2 after v1, multi-range -> 200 full body", { multiRange: "full200" }],
      ["v2 after v1, multi-range -> 400", { multiRange: "status400" }],
      ["v2 after v1, multi-range -> 416", { multiRange: "status416" }],
      ["v2 after v1, multi-range -> first range only", { multiRange: "firstOnly" }],
      ["v2 after v1, 20 ms latency per request", { latencyMs: 20 }],
    ];
    for (const [i, [name, mode]] of modes.entries()) {
      await pull(`${server.host}/${img(1, "zstd:chunked").reference}`, {
        store: store(`m${i}`),
        plainHttp: true,
      });
      await admin(server.url, "modes", "PUT", mode);
      await scenario(server, name, img(2, "zstd:chunked"), store(`m${i}`), rows, { ideal: true });
      await admin(server.url, "modes", "DELETE");
    }
    await scenario(server, "gzip v1, empty store (full pull)", img(1, "gzip"), store("g"), rows);
    await scenario(
      server,
      "zstd:chunked v2 after gzip v1",
      img(2, "zstd:chunked"),
      store("g"),
      rows,
      { ideal: true },
    );

    console.log(
      `node ${process.version}; app layer ${mb(img(1, "zstd:chunked").layers[1]!.size)} MB compressed\n`,
    );
    console.log(
      "| scenario | sent MB | ideal MB | sent/ideal | full pull MB | requests | seconds | MB/s sent |",
    );
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of rows) {
      const ratio = r.ideal ? (r.sent / r.ideal).toFixed(3) : "";
      console.log(
        `| ${r.scenario} | ${mb(r.sent)} | ${r.ideal !== undefined ? mb(r.ideal) : ""} | ${ratio} | ${mb(r.full)} | ${r.requests} | ${r.seconds.toFixed(2)} | ${(r.sent / 1e6 / r.seconds).toFixed(1)} |`,
      );
    }
  } finally {
    server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
