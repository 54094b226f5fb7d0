/** `chunkpull pull REF`: pulls an image into the store, fetching only what the store lacks. */
import { UsageError } from "../errors.js";
import { type PullResult, pull } from "../pull/pull.js";
import { parseReference, type Reference } from "../reference.js";
import { createRegistryClient, type RegistryClient } from "../registry/client.js";
import { loadRegistryConfig, qualifyReference } from "../registry/config/index.js";
import { warm } from "../registry/warm.js";
import { openStore } from "../store/index.js";
import { parse, str } from "./args.js";
import {
  checkOutputTargets,
  type OutputRequest,
  type OutputsWritten,
  parseOutputs,
  renderOutputs,
  wantsOutputs,
  writeOutputs,
} from "./outputs.js";
import { renderPullSummary } from "./render.js";

type Parsed = Parameters<typeof str>[0];

export async function pullCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      store: { type: "string" },
      platform: { type: "string" },
      "plain-http": { type: "boolean" },
      creds: { type: "string" },
      verify: { type: "string" },
      concurrency: { type: "string" },
      json: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      strict: { type: "boolean" },
      "oci-layout": { type: "string" },
      output: { type: "string" },
      rootfs: { type: "string" },
      timeout: { type: "string" },
      "registries-conf": { type: "string" },
      "hosts-dir": { type: "string" },
      prefetch: { type: "boolean" },
    },
    ["REF"],
  );
  const verify = str(values, "verify") ?? "diff-id";
  if (verify !== "diff-id" && verify !== "toc")
    throw new UsageError(`--verify must be diff-id or toc, not ${verify}`);
  const creds = str(values, "creds");
  let credentials: { username: string; password: string } | undefined;
  if (creds !== undefined) {
    const i = creds.indexOf(":");
    if (i <= 0) throw new UsageError("--creds must be user:password");
    credentials = { username: creds.slice(0, i), password: creds.slice(i + 1) };
  }
  const concurrencyText = str(values, "concurrency");
  const concurrency = concurrencyText === undefined ? undefined : Number(concurrencyText);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new UsageError("--concurrency must be a positive integer");
  }
  const timeoutText = str(values, "timeout");
  const timeoutSeconds = timeoutText === undefined ? undefined : Number(timeoutText);
  if (timeoutSeconds !== undefined && !(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0)) {
    throw new UsageError("--timeout must be a positive number of seconds");
  }
  const json = values.json === true;
  const quiet = values.quiet === true || json;
  const outputs = parseOutputs(
    str(values, "output"),
    str(values, "oci-layout"),
    str(values, "rootfs"),
  );
  await checkOutputTargets(outputs);
  const registryConfig = {
    ...(str(values, "registries-conf") !== undefined
      ? { registriesConf: str(values, "registries-conf") }
      : {}),
    ...(str(values, "hosts-dir") !== undefined ? { hostsDir: str(values, "hosts-dir") } : {}),
  };
  // A short name takes the registries.conf unqualified-search registry; --creds are for the
  // image's registry only: a mirror gets the credentials stored for its own host, never these.
  const ref = parseReference(
    qualifyReference(positionals[0]!, loadRegistryConfig(registryConfig).registriesConf),
  );
  const client = createRegistryClient({
    ...registryConfig,
    ...(values["plain-http"] === true ? { plainHttp: true } : {}),
    ...(credentials ? { credentials: { [ref.registry]: credentials } } : {}),
  });
  try {
    if (values.prefetch === true) {
      // Fill the pull-through cache with one full GET per blob before asking it for ranges.
      const warmed = await warm(positionals[0]!, {
        client,
        ...(timeoutSeconds !== undefined
          ? { signal: AbortSignal.timeout(Math.round(timeoutSeconds * 1000)) }
          : {}),
      });
      if (!quiet)
        process.stderr.write(
          `prefetched ${warmed.blobs.length} blob(s), ${warmed.bytesFetched} bytes from ${[...new Set(warmed.blobs.map((b) => b.host))].join(", ")}\n`,
        );
    }
    return await pullWith(client, ref, values, outputs, {
      verify,
      concurrency,
      timeoutSeconds,
      json,
      quiet,
    });
  } finally {
    await client.close();
  }
}

async function pullWith(
  client: RegistryClient,
  ref: Reference,
  values: Parsed,
  outputs: OutputRequest,
  o: {
    verify: "diff-id" | "toc";
    concurrency: number | undefined;
    timeoutSeconds: number | undefined;
    json: boolean;
    quiet: boolean;
  },
): Promise<number> {
  const { verify, concurrency, timeoutSeconds, json, quiet } = o;
  const store = await openStore(str(values, "store"));
  const say = quiet ? () => {} : (message: string) => process.stderr.write(`${message}\n`);
  // Held across the pull and the outputs: gc must not collect objects while they are exported.
  const marker = wantsOutputs(outputs) ? await store.beginPull() : undefined;
  let result: PullResult;
  let written: OutputsWritten = {};
  try {
    result = await pull(ref.toString(), {
      client,
      store,
      platform: str(values, "platform"),
      verify,
      concurrency,
      strictFormat: values.strict === true,
      ...(timeoutSeconds !== undefined ? { timeoutMs: Math.round(timeoutSeconds * 1000) } : {}),
      onProgress: quiet ? undefined : (e) => say(e.message),
    });
    if (wantsOutputs(outputs)) written = await writeOutputs(store, ref, result, outputs, say);
  } finally {
    await marker?.end();
  }
  if (json) {
    // configBytes is for the writers; the parsed config is in the result already.
    const { configBytes: _, ...printed } = result;
    process.stdout.write(`${JSON.stringify({ ...printed, outputs: written }, null, 2)}\n`);
  } else process.stdout.write(renderPullSummary(result) + renderOutputs(written));
  return 0;
}
