/** `chunkpull pull REF`: pulls an image into the store, fetching only what the store lacks. */
import { UsageError } from "../errors.js";
import { parsePlatform } from "../oci/platform.js";
import type { RegistryClient } from "../registry/client.js";
import { defaultStoreDir } from "../store/layout.js";
import { positiveInt, str } from "./args.js";
import {
  checkOutputTargets,
  type OutputsWritten,
  parseOutputs,
  renderOutputs,
  wantsOutputs,
  writeOutputs,
} from "./outputs.js";
import {
  platformWarning,
  REGISTRY_OPTIONS,
  type RegistryCliOptions,
  registryOptions,
} from "./registry-options.js";
import { renderPullSummary, savedLine } from "./render.js";
import {
  type CommandSpec,
  type Invocation,
  JSON_OPTION,
  QUIET_OPTION,
  STORE_OPTION,
} from "./spec.js";
import { err, out, useColor } from "./terminal.js";

export const pullSpec: CommandSpec = {
  name: "pull",
  summary: "pull an image into the store, fetching only what the store lacks",
  positionals: [
    { name: "REF", description: "image reference: [registry/]repository[:tag][@digest]" },
  ],
  options: [
    STORE_OPTION,
    ...REGISTRY_OPTIONS,
    {
      name: "verify",
      type: "string",
      value: "POLICY",
      description:
        "diff-id: every layer's rebuilt tar must hash to the config's diff_id; toc: eStargz layers without tar-split may be accepted on their authenticated TOC (fewer bytes)",
      default: "diff-id",
    },
    {
      name: "timeout",
      type: "string",
      value: "SECONDS",
      description:
        "give up the whole pull after this long (ETIMEOUT); each request also has connect and idle-read deadlines of its own",
      default: "none",
    },
    {
      name: "concurrency",
      type: "string",
      value: "N",
      description: "range requests in flight per layer",
      default: "4",
    },
    {
      name: "strict",
      type: "boolean",
      description: "reject layers annotated as both zstd:chunked and eStargz",
    },
    {
      name: "output",
      type: "string",
      value: "DEST",
      description:
        "also write the pulled image: oci:DIR[:TAG] (OCI image layout, uncompressed layers, read by skopeo and umoci) or docker-archive:FILE[:REF] (docker load / podman load)",
    },
    {
      name: "oci-layout",
      type: "string",
      value: "DIR",
      description: "the same as --output oci:DIR",
    },
    {
      name: "rootfs",
      type: "string",
      value: "DIR",
      description:
        "also extract the image's layers, in order, into the new or empty DIR (whiteouts applied, nothing written outside DIR)",
    },
    {
      name: "prefetch",
      type: "boolean",
      description:
        "first read every blob once in full through the mirrors, so a pull-through cache holds them before it is asked for ranges",
    },
    {
      name: "dry-run",
      type: "boolean",
      description:
        "read manifests and TOCs only and print what a pull would fetch now (as `inspect --store`)",
    },
    {
      name: "progress",
      type: "string",
      value: "MODE",
      description: "auto: redrawn lines on a terminal, plain lines otherwise; tty; plain; none",
      default: "auto",
    },
    JSON_OPTION,
    QUIET_OPTION,
  ],
  description:
    "Chunked layers (zstd:chunked, eStargz) are fetched as byte ranges: only the chunks whose files are not in the store; every layer is rebuilt and checked against the image config's diff_id before it is recorded. Other layers are pulled in full and verified the same way. The summary goes to stdout, progress to stderr.",
  examples: [
    "chunkpull pull registry.example.com/team/app:v2",
    "chunkpull pull localhost:5000/app:v2 --plain-http --store /var/cache/chunkpull",
    "chunkpull pull quay.io/org/app@sha256:... --platform linux/arm64 --json",
    "chunkpull pull registry.example.com/team/app:v3 --dry-run",
    "chunkpull pull team/app:v2 --registries-conf ./registries.conf --prefetch",
    "chunkpull pull registry.example.com/team/app:v2 --output oci:./app-layout:v2 --rootfs ./rootfs",
  ],
  run: runPull,
};

async function runPull(inv: Invocation): Promise<number> {
  const { values, positionals } = inv;
  const verify = str(values, "verify") ?? "diff-id";
  if (verify !== "diff-id" && verify !== "toc")
    throw new UsageError(`--verify must be diff-id or toc, not ${verify}`);
  const concurrency = positiveInt(values, "concurrency");
  const timeoutText = str(values, "timeout");
  const timeoutSeconds = timeoutText === undefined ? undefined : Number(timeoutText);
  if (timeoutSeconds !== undefined && !(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
    throw new UsageError("--timeout must be a positive number of seconds");
  }
  const progressOption = str(values, "progress");
  if (progressOption !== undefined && !["auto", "tty", "plain", "none"].includes(progressOption))
    throw new UsageError(`--progress must be auto, tty, plain or none, not ${progressOption}`);
  const storeDir = str(values, "store") ?? defaultStoreDir();
  const outputs = parseOutputs(
    str(values, "output"),
    str(values, "oci-layout"),
    str(values, "rootfs"),
  );
  await checkOutputTargets(outputs);
  const reg = registryOptions(values);
  const json = values.json === true;
  if (values["dry-run"] === true) {
    const { renderInspection } = await import("./inspect.js");
    const { inspectImage } = await import("../inspect/inspect-image.js");
    const r = await inspectImage(positionals[0]!, {
      ...reg,
      store: storeDir,
      verify,
      strictFormat: values.strict === true,
      signal: inv.signal,
    });
    if (json) out(`${JSON.stringify(r, null, 2)}\n`);
    else out(renderInspection(r));
    const warning = r.platformMismatch && platformWarning(r.platformMismatch, false);
    if (warning) err(`chunkpull pull: ${warning}\n`);
    return 0;
  }
  const { ProgressView, progressMode } = await import("./progress.js");
  const { pull } = await import("../pull/pull.js");
  const view = new ProgressView(
    progressMode(progressOption, inv.quiet || json),
    useColor(process.stderr) && progressOption !== "plain",
  );
  inv.useStore(storeDir);
  const { openStore } = await import("../store/index.js");
  const store = await openStore(storeDir);
  // Held across the pull and the outputs: gc must not collect objects while they are exported.
  const marker = wantsOutputs(outputs) ? await store.beginPull() : undefined;
  let result: Awaited<ReturnType<typeof pull>>;
  let written: OutputsWritten = {};
  const client =
    values.prefetch === true
      ? await prefetch(positionals[0]!, reg, timeoutSeconds, inv, inv.quiet || json)
      : undefined;
  try {
    result = await pull(positionals[0]!, {
      ...reg,
      ...(client ? { client } : {}),
      store,
      verify,
      concurrency,
      strictFormat: values.strict === true,
      ...(timeoutSeconds !== undefined ? { timeoutMs: Math.round(timeoutSeconds * 1000) } : {}),
      signal: inv.signal,
      onProgress: view.listener,
    });
    if (wantsOutputs(outputs)) {
      const { parseReference } = await import("../reference.js");
      const say = inv.quiet || json ? () => {} : (m: string) => err(`${m}\n`);
      written = await writeOutputs(store, parseReference(result.reference), result, outputs, say);
    }
  } catch (e) {
    view.stop();
    throw e;
  } finally {
    await marker?.end();
    await client?.close();
  }
  view.finish(savedLine(result));
  const wanted = str(values, "platform");
  const { platformMismatch } = await import("./registry-options.js");
  const mismatch = wanted ? platformMismatch(wanted, result) : undefined;
  // Printed even with --quiet/--json: an image for another platform is worth a word (podman does the same).
  if (mismatch) err(`chunkpull pull: ${platformWarning(mismatch)}\n`);
  if (json) {
    // configBytes is for the writers; the parsed config is in the result already.
    const { configBytes: _, ...printed } = result;
    out(`${JSON.stringify({ ...printed, outputs: written }, null, 2)}\n`);
  } else out(renderPullSummary(result) + renderOutputs(written));
  return 0;
}

/**
 * --prefetch: one full GET per blob through the mirrors (filling a pull-through cache) before the
 * pull asks for ranges; the pull then reuses this client. --creds stay bound to the reference's
 * registry, as in pull().
 */
async function prefetch(
  reference: string,
  reg: RegistryCliOptions,
  timeoutSeconds: number | undefined,
  inv: Invocation,
  quiet: boolean,
): Promise<RegistryClient> {
  const { createRegistryClient } = await import("../registry/client.js");
  const { loadRegistryConfig, qualifyReference } = await import("../registry/config/index.js");
  const { parseReference } = await import("../reference.js");
  const { warm } = await import("../registry/warm.js");
  const conf = loadRegistryConfig(reg.registryConfig ?? {}).registriesConf;
  const registry = parseReference(qualifyReference(reference, conf)).registry;
  const client = createRegistryClient({
    ...reg.registryConfig,
    ...(reg.plainHttp ? { plainHttp: true } : {}),
    ...(reg.credentials ? { credentials: reg.credentials, credentialHosts: [registry] } : {}),
    signal: inv.signal,
  });
  try {
    const signal =
      timeoutSeconds !== undefined
        ? AbortSignal.any([inv.signal, AbortSignal.timeout(Math.round(timeoutSeconds * 1000))])
        : inv.signal;
    const warmed = await warm(reference, {
      client,
      ...(reg.platform !== undefined ? { platform: parsePlatform(reg.platform) } : {}),
      signal,
    });
    if (!quiet) {
      const hosts = [...new Set(warmed.blobs.map((b) => b.host))].join(", ");
      err(
        `prefetched ${warmed.blobs.length} blob(s), ${warmed.bytesFetched} bytes from ${hosts}\n`,
      );
    }
    return client;
  } catch (e) {
    await client.close();
    throw e;
  }
}
