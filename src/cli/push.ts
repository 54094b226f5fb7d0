/** `chunkpull push SRC REF [--convert zstd:chunked|estargz]`: a local image pushed to a registry. */
import { UsageError } from "../errors.js";
import { LAYER_WRITE_FORMATS, type LayerWriteFormat } from "../formats/convert.js";
import { openImageSource } from "../output/image-source.js";
import { pushLocalImage } from "../output/push-image.js";
import { parseReference } from "../reference.js";
import { createRegistryClient } from "../registry/client.js";
import { parse, str } from "./args.js";
import { formatBytes } from "./render.js";

export async function pushCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      convert: { type: "string" },
      level: { type: "string" },
      "plain-http": { type: "boolean" },
      creds: { type: "string" },
      json: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
    },
    ["SRC", "REF"],
  );
  const convert = str(values, "convert");
  if (convert !== undefined && !LAYER_WRITE_FORMATS.includes(convert as LayerWriteFormat))
    throw new UsageError(`--convert must be one of ${LAYER_WRITE_FORMATS.join(", ")}`);
  const levelText = str(values, "level");
  const level = levelText === undefined ? undefined : Number(levelText);
  if (level !== undefined && !Number.isInteger(level))
    throw new UsageError("--level must be an integer");
  const creds = str(values, "creds");
  let credentials: { username: string; password: string } | undefined;
  if (creds !== undefined) {
    const i = creds.indexOf(":");
    if (i <= 0) throw new UsageError("--creds must be user:password");
    credentials = { username: creds.slice(0, i), password: creds.slice(i + 1) };
  }
  const ref = parseReference(positionals[1]!);
  if (ref.digest) throw new UsageError(`${ref.toString()}: push to a tag, not a digest`);
  const json = values.json === true;
  const quiet = values.quiet === true || json;
  const source = await openImageSource(positionals[0]!);
  const client = createRegistryClient({
    ...(values["plain-http"] === true ? { plainHttp: true } : {}),
    // --creds are for the target's registry only (docs/security.md).
    ...(credentials ? { credentials, credentialHosts: [ref.registry] } : {}),
  });
  try {
    const r = await pushLocalImage(client, source, ref, {
      ...(convert ? { convert: convert as LayerWriteFormat } : {}),
      ...(level !== undefined ? { level } : {}),
      onProgress: quiet ? undefined : (m) => process.stderr.write(`${m}\n`),
    });
    if (json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else {
      const lines = [`pushed ${r.reference} (${r.manifestDigest})`];
      for (const l of r.layers)
        lines.push(
          `  ${l.digest.slice(0, 19)} ${formatBytes(l.size).padStart(10)} ${l.mediaType}${l.converted ? ` (converted to ${convert})` : ""}`,
        );
      process.stdout.write(`${lines.join("\n")}\n`);
    }
  } finally {
    await client.close();
  }
  return 0;
}
