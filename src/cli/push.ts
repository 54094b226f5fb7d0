/** `chunkpull push SRC REF [--convert zstd:chunked|estargz]`: a local image pushed to a registry. */
import { UsageError } from "../errors.js";
import { LAYER_WRITE_FORMATS, type LayerWriteFormat } from "../formats/convert.js";
import { str } from "./args.js";
import { REGISTRY_OPTIONS, registryOptions } from "./registry-options.js";
import { formatBytes } from "./render.js";
import { type CommandSpec, type Invocation, JSON_OPTION, QUIET_OPTION } from "./spec.js";
import { err, out } from "./terminal.js";

export const pushSpec: CommandSpec = {
  name: "push",
  summary: "push a local image (OCI layout or docker archive) to a registry, optionally converted",
  positionals: [
    { name: "SRC", description: "oci:DIR[:TAG] or docker-archive:FILE[:REF]" },
    { name: "REF", description: "target reference: registry/repository:tag" },
  ],
  options: [
    // --platform does not apply: the source holds one image.
    ...REGISTRY_OPTIONS.filter((o) => o.name !== "platform"),
    {
      name: "convert",
      type: "string",
      value: "FORMAT",
      description: `rewrite every layer on the way: ${LAYER_WRITE_FORMATS.join(" or ")} (new diff_ids and config, chunked annotations added, stale ones dropped)`,
    },
    {
      name: "level",
      type: "string",
      value: "N",
      description: "compression level of converted layers",
      default: "3 (zstd), 9 (gzip)",
    },
    JSON_OPTION,
    QUIET_OPTION,
  ],
  description:
    "Each layer is staged in a temp file while it is checked (against its diff_id when converted, its digest otherwise), then uploaded in bounded chunks. With --convert the image partial-pulls afterwards.",
  examples: [
    "chunkpull push oci:./app-layout:v2 registry.example.com/team/app:v2 --convert zstd:chunked",
    "chunkpull push docker-archive:app.tar localhost:5000/app:v1 --plain-http --convert estargz",
  ],
  run: runPush,
};

async function runPush(inv: Invocation): Promise<number> {
  const { values, positionals } = inv;
  const convert = str(values, "convert");
  if (convert !== undefined && !LAYER_WRITE_FORMATS.includes(convert as LayerWriteFormat))
    throw new UsageError(`--convert must be one of ${LAYER_WRITE_FORMATS.join(", ")}`);
  const levelText = str(values, "level");
  const level = levelText === undefined ? undefined : Number(levelText);
  if (level !== undefined && !Number.isInteger(level))
    throw new UsageError("--level must be an integer");
  const { parseReference } = await import("../reference.js");
  const ref = parseReference(positionals[1]!);
  if (ref.digest) throw new UsageError(`${ref.toString()}: push to a tag, not a digest`);
  const reg = registryOptions(values);
  const json = values.json === true;
  const quiet = inv.quiet || json;
  const { openImageSource } = await import("../output/image-source.js");
  const { pushLocalImage } = await import("../output/push-image.js");
  const { createRegistryClient } = await import("../registry/client.js");
  const source = await openImageSource(positionals[0]!);
  const client = createRegistryClient({
    ...reg.registryConfig,
    ...(reg.plainHttp ? { plainHttp: true } : {}),
    // --creds are for the target's registry only (docs/security.md).
    ...(reg.credentials ? { credentials: reg.credentials, credentialHosts: [ref.registry] } : {}),
    signal: inv.signal,
  });
  try {
    const r = await pushLocalImage(client, source, ref, {
      ...(convert ? { convert: convert as LayerWriteFormat } : {}),
      ...(level !== undefined ? { level } : {}),
      onProgress: quiet ? undefined : (m) => err(`${m}\n`),
    });
    if (json) out(`${JSON.stringify(r, null, 2)}\n`);
    else {
      const lines = [`pushed ${r.reference} (${r.manifestDigest})`];
      for (const l of r.layers)
        lines.push(
          `  ${l.digest.slice(0, 19)} ${formatBytes(l.size).padStart(10)} ${l.mediaType}${l.converted ? ` (converted to ${convert})` : ""}`,
        );
      out(`${lines.join("\n")}\n`);
    }
  } finally {
    await client.close();
  }
  return 0;
}
