/** `chunkpull pull REF`: pulls an image into the store, fetching only what the store lacks. */
import { UsageError } from "../errors.js";
import { type PullResult, pull } from "../pull/pull.js";
import { parseReference } from "../reference.js";
import { createRegistryClient, type RegistryClient } from "../registry/client.js";
import { loadRegistryConfig, qualifyReference } from "../registry/config/index.js";
import { warm } from "../registry/warm.js";
import { parse, str } from "./args.js";

type Parsed = Parameters<typeof str>[0];

import { renderPullSummary } from "./render.js";

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
  const registryConfig = {
    ...(str(values, "registries-conf") !== undefined
      ? { registriesConf: str(values, "registries-conf") }
      : {}),
    ...(str(values, "hosts-dir") !== undefined ? { hostsDir: str(values, "hosts-dir") } : {}),
  };
  // --creds are for the image's registry only: a mirror gets the credentials stored for its
  // own host, never these.
  const registry = parseReference(
    qualifyReference(positionals[0]!, loadRegistryConfig(registryConfig).registriesConf),
  ).registry;
  const client = createRegistryClient({
    ...registryConfig,
    ...(values["plain-http"] === true ? { plainHttp: true } : {}),
    ...(credentials ? { credentials: { [registry]: credentials } } : {}),
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
    return await pullWith(client, positionals[0]!, values, {
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
  reference: string,
  values: Parsed,
  o: {
    verify: "diff-id" | "toc";
    concurrency: number | undefined;
    timeoutSeconds: number | undefined;
    json: boolean;
    quiet: boolean;
  },
): Promise<number> {
  const { verify, concurrency, timeoutSeconds, json, quiet } = o;
  const result: PullResult = await pull(reference, {
    client,
    store: str(values, "store"),
    platform: str(values, "platform"),
    verify,
    concurrency,
    strictFormat: values.strict === true,
    ociLayout: str(values, "oci-layout"),
    ...(timeoutSeconds !== undefined ? { timeoutMs: Math.round(timeoutSeconds * 1000) } : {}),
    onProgress: quiet ? undefined : (e) => process.stderr.write(`${e.message}\n`),
  });
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stdout.write(renderPullSummary(result));
  return 0;
}
