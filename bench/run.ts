/**
 * `npm run bench [-- --quick] [--out DIR] [--rounds N] [--mb N] [--shares 1,10,50] [--shaped]`:
 * chunkpull side by side with skopeo (into `oci:` and, where it runs, into containers-storage
 * with partial pulls) and with `curl | decompress | sha256sum` of the blob, on a generated image
 * in versions, through one counting (optionally shaped) proxy in front of the real
 * docker-registry. Scenarios per format and tool, as one chain per round: cold, re-pull, one
 * update per change share, shared base. Rounds interleave the tools; figures are medians.
 * Output: results.json, results.md and chart-<link>.svg in --out.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startDockerRegistry } from "../test/helpers/docker-registry.js";
import {
  buildBlob,
  type LayerBlob,
  type OwnFormat,
  pushImage,
  skopeoRecompress,
} from "./pull/blobs.js";
import { fileSpecs, writeVersionTar } from "./pull/gen-image.js";
import { IdealCounter } from "./pull/ideal.js";
import {
  aggregate,
  describeTarget,
  markdown,
  type Sample,
  svgChart,
  targets,
} from "./pull/report.js";
import {
  chunkpullTool,
  containersStorageUsable,
  limitTool,
  type StepImage,
  skopeoOciTool,
  skopeoStorageTool,
  type Tool,
} from "./pull/tools.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

const { values } = parseArgs({
  options: {
    quick: { type: "boolean" },
    out: { type: "string" },
    rounds: { type: "string" },
    mb: { type: "string" },
    shares: { type: "string" },
    shaped: { type: "boolean" },
    loopback: { type: "boolean" },
    formats: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  process.stdout.write(
    "usage: npm run bench -- [--quick] [--out DIR] [--rounds N] [--mb N] [--shares 1,10,50]\n" +
      "                        [--shaped | --loopback] [--formats zstd:chunked,estargz,gzip]\n",
  );
  process.exit(0);
}
const quick = values.quick === true;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const totalMB = Number(values.mb ?? (quick ? 16 : 300));
const shares = (values.shares ?? (quick ? "10" : "1,5,10,50")).split(",").map(Number);
const out = values.out ?? join(root, ".bench-data", quick ? "pull-quick" : "pull");
const links: Array<{ name: string; shape: { bytesPerSecond: number; latencyMs: number } }> = [
  { name: "loopback", shape: { bytesPerSecond: 0, latencyMs: 0 } },
];
// The shaped link by default in full runs; --loopback leaves it out (long runs of big images).
if (values.shaped || (!quick && !values.loopback))
  links.push({
    name: "100 Mbit/s, 20 ms per request",
    shape: { bytesPerSecond: 100e6 / 8, latencyMs: 20 },
  });

const OWN: Array<{ format: OwnFormat; label: string; tag: string }> = [
  { format: "zstd:chunked", label: "zstd:chunked", tag: "zc" },
  { format: "estargz", label: "eStargz", tag: "esgz" },
  { format: "gzip", label: "gzip", tag: "gz" },
];
const OLD = { label: "zstd:chunked (c/storage layout)", tag: "zco" };
// --quick: the two zstd:chunked layouts only (the ones the targets compare), to stay short.
const wanted = (values.formats ?? (quick ? "zstd" : undefined))?.split(",");
/** Whether a format's chain is built: the wanted ones, and gzip whenever the old layout is wanted (skopeo recompresses it). */
const build = (label: string) =>
  !wanted ||
  wanted.some((w) => label.startsWith(w)) ||
  (label === "gzip" && wanted.some((w) => OLD.label.startsWith(w)));
const REPO = "bench/app";
const OLD_REPO = "bench/app-old";

async function startProxy(upstream: string) {
  const child = spawn(process.execPath, [join(here, "pull", "proxy.js"), upstream], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line: string = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`proxy exited ${code}`)));
  });
  const url = /listening on (\S+)/.exec(line)![1]!;
  const call = async (path: string, method = "GET", body?: unknown) => {
    const res = await fetch(`${url}/_proxy/${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await res.json()) as { requests: number; bytes: number };
  };
  return { host: new URL(url).host, call, stop: () => child.kill("SIGTERM") };
}

interface Step {
  scenario: string;
  repo: string;
  tag: string;
  layer: { digest: string; mediaType: string; size: number; annotations?: Record<string, string> };
  /** Whether the chain already holds this layer (re-pull, the shared base). */
  had: boolean;
}

async function prepareData(dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  const specs = fileSpecs(totalMB * 1e6, 42);
  const tars: Record<string, string> = { v1: join(dataDir, "v1.tar") };
  for (const s of shares) tars[`p${s}`] = join(dataDir, `p${s}.tar`);
  tars.extra = join(dataDir, "extra.tar");
  const { existsSync } = await import("node:fs");
  for (const [name, path] of Object.entries(tars)) {
    if (existsSync(path)) continue;
    const share = name === "v1" ? 0 : name === "extra" ? 1 : Number(name.slice(1)) / 100;
    const files = name === "extra" ? fileSpecs(2e6, 7) : specs;
    await writeVersionTar(
      `${path}.tmp`,
      files,
      share,
      name === "extra" ? 99 : shares.indexOf(Number(name.slice(1))) + 2,
    );
    const { renameSync } = await import("node:fs");
    renameSync(`${path}.tmp`, path);
  }
  return { tars, files: specs.length };
}

async function main() {
  const t0 = Date.now();
  const dataDir = join(root, ".bench-data", `pull-${totalMB}MB`);
  console.error(`bench: generating ${totalMB} MB image versions in ${dataDir}`);
  const { tars, files } = await prepareData(dataDir);
  const registry = await startDockerRegistry();
  const proxy = await startProxy(registry.url);
  const work = join(tmpdir(), `chunkpull-bench-${process.pid}`);
  const tools: Tool[] = [
    // What users run: the bin entry (the bundled command line when the build made one).
    chunkpullTool(join(root, "bin", "chunkpull.mjs")),
    skopeoOciTool(),
  ];
  if (containersStorageUsable()) tools.push(skopeoStorageTool());
  else console.error("bench: containers-storage skipped (needs root and overlay)");
  const limit = limitTool();
  const samples: Sample[] = [];
  try {
    // Build, push, and describe every format's chain of images.
    const chains = new Map<string, Step[]>();
    const names = (s: number) => `update ${s}%`;
    for (const f of OWN) {
      if (!build(f.label)) continue;
      console.error(`bench: building ${f.label} blobs`);
      const blobs: Record<string, LayerBlob> = {};
      for (const [name, path] of Object.entries(tars))
        blobs[name] = await buildBlob(path, f.format);
      const imgs: Array<[string, string, LayerBlob[]]> = [
        ["cold", "v1", [blobs.v1!]],
        ["re-pull", "v1", [blobs.v1!]],
        ...shares.map((s): [string, string, LayerBlob[]] => [names(s), `p${s}`, [blobs[`p${s}`]!]]),
        ["shared base", "shared", [blobs.v1!, blobs.extra!]],
      ];
      const steps: Step[] = [];
      for (const [scenario, name, layers] of imgs) {
        await pushImage(registry.url, REPO, `${f.tag}-${name}`, layers);
        const l = layers[layers.length - 1]!;
        steps.push({
          scenario,
          repo: REPO,
          tag: `${f.tag}-${name}`,
          layer: l,
          had: scenario === "re-pull",
        });
      }
      chains.set(f.label, steps);
      if (f.format === "gzip") {
        console.error("bench: recompressing with skopeo (old zstd:chunked layout)");
        const old: Step[] = [];
        for (const [i, s] of steps.entries()) {
          // Its own repository: into bench/app, skopeo would find the gzip blob and keep it.
          const layers = await skopeoRecompress(
            registry.host,
            OLD_REPO,
            imgs[i]![2],
            s.tag.replace(/^gz/, OLD.tag),
            join(work, "layout"),
          );
          const l = layers[layers.length - 1]!;
          old.push({
            ...s,
            repo: OLD_REPO,
            tag: s.tag.replace(/^gz/, OLD.tag),
            layer: { ...l, mediaType: "application/vnd.oci.image.layer.v1.tar+zstd" },
          });
        }
        chains.set(OLD.label, old);
      }
    }
    // The ideal bytes of each step, from the TOCs.
    const ideals = new Map<string, Array<number | undefined>>();
    for (const [label, steps] of chains) {
      if (label === "gzip") continue;
      const xs: Array<number | undefined> = [];
      const counter = new IdealCounter(registry.host);
      for (const s of steps) xs.push(await counter.pull(s.repo, s.layer, s.had));
      ideals.set(label, xs);
      await counter.close();
    }
    const formats = [...chains.keys()].filter(
      (l) => !wanted || wanted.some((w) => l.startsWith(w)),
    );
    const record = (
      base: Omit<Sample, "bytes" | "requests">,
      st: { bytes: number; requests: number },
    ) => {
      samples.push({ ...base, bytes: st.bytes, requests: st.requests });
      const s = samples[samples.length - 1]!;
      console.error(
        `  ${s.link} | ${s.format} | ${s.scenario} | ${s.tool}: ${s.ok ? `${s.wall.toFixed(2)} s, ${(s.bytes / 1e6).toFixed(1)} MB, ${s.requests} req` : `FAILED ${s.error}`}`,
      );
    };
    for (let round = 1; round <= rounds; round++) {
      for (const link of links) {
        await proxy.call("shape", "PUT", link.shape);
        // The shaped link is slow by design: there only the zstd:chunked layouts (the targets).
        const linkFormats =
          link === links[0] || wanted
            ? formats
            : formats.filter((f) => f.startsWith("zstd:chunked"));
        for (const label of linkFormats) {
          const steps = chains.get(label)!;
          // Interleaved: the tools' order rotates from round to round.
          const order = [...tools, limit].map((_, i, a) => a[(i + round - 1) % a.length]!);
          for (const tool of order) {
            const dir = join(
              work,
              `${round}`,
              tool.name.replace(/\W+/g, "_"),
              label.replace(/\W+/g, "_"),
            );
            rmSync(dir, { recursive: true, force: true });
            mkdirSync(dir, { recursive: true });
            tool.reset(dir);
            for (const [i, s] of steps.entries()) {
              if (tool === limit && s.scenario === "re-pull") continue;
              await proxy.call("reset", "POST");
              const img: StepImage = { repo: s.repo, tag: s.tag, layer: s.layer };
              const m = await tool.pull(proxy.host, img);
              const st = await proxy.call("stats");
              const ideal = tool === limit ? undefined : ideals.get(label)?.[i];
              record(
                {
                  round,
                  link: link.name,
                  format: label,
                  scenario: s.scenario,
                  tool: tool.name,
                  ...m,
                  ...(ideal !== undefined ? { ideal } : {}),
                },
                st,
              );
            }
            tool.cleanup();
            rmSync(dir, { recursive: true, force: true });
          }
        }
      }
    }
  } finally {
    proxy.stop();
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  }
  const rows = aggregate(samples);
  const tg = targets(rows, shares);
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const header =
    `## Pull bench: ${totalMB} MB tar, ${files} files, ${rounds} round(s), ${new Date().toISOString()}\n\n` +
    `Machine: ${cpus().length} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, node ${process.version}.`;
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, "results.json"),
    JSON.stringify({ totalMB, files, rounds, shares, links, samples, rows, targets: tg }, null, 2),
  );
  writeFileSync(join(out, "results.md"), markdown(rows, tg, header));
  for (const [i, link] of links.entries())
    writeFileSync(
      join(out, `chart-${i === 0 ? "loopback" : "shaped"}.svg`),
      svgChart(rows, link.name),
    );
  console.log(markdown(rows, tg, header));
  for (const t of tg) if (!t.met) console.log(`target missed: ${describeTarget(t)}`);
  console.error(`bench: done in ${((Date.now() - t0) / 1000).toFixed(0)} s; results in ${out}`);
}

await main();
