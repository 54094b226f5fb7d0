/**
 * Local images to push: an OCI image layout (`oci:DIR[:TAG]`) or a docker archive
 * (`docker-archive:FILE[:REF]`, as `docker save` or `--output docker-archive:` writes it). The
 * config is checked against the digest its manifest names; layer blobs are read as streams and
 * checked by the pusher as they pass (blob digest and diff_id).
 */
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, digestOf, hexOf, parseDigest } from "../digest.js";
import { DigestMismatchError, FormatError, UsageError } from "../errors.js";
import { readTar } from "../formats/tar/reader.js";
import { MediaType } from "../oci/media-types.js";
import type { Descriptor, ImageConfig } from "../oci/types.js";
import { parseJson, parseManifestDocument, validateConfig } from "../oci/validate.js";

export interface SourceLayer {
  /** Media type, digest (when known: a docker archive's layers are named, not digested) and size. */
  mediaType: string;
  digest?: Digest;
  annotations?: Record<string, string>;
  diffId: Digest;
  /** The blob's bytes as stored (compressed or not). */
  open(): AsyncIterable<Buffer>;
}

export interface SourceImage {
  configBytes: Buffer;
  config: ImageConfig;
  layers: SourceLayer[];
  /** Manifest annotations, kept on the pushed manifest. */
  annotations?: Record<string, string>;
}

/** "oci:DIR[:TAG]" or "docker-archive:FILE[:REF]": the first colon after the transport splits. */
export async function openImageSource(spec: string): Promise<SourceImage> {
  const i = spec.indexOf(":");
  const transport = i < 0 ? "" : spec.slice(0, i);
  const rest = spec.slice(i + 1);
  const j = rest.indexOf(":");
  const path = j < 0 ? rest : rest.slice(0, j);
  const name = j < 0 ? undefined : rest.slice(j + 1);
  if (path === "")
    throw new UsageError(`${spec}: expected oci:DIR[:TAG] or docker-archive:FILE[:REF]`);
  if (transport === "oci") return openOciLayout(path, name);
  if (transport === "docker-archive") return openDockerArchive(path, name);
  throw new UsageError(`${spec}: expected oci:DIR[:TAG] or docker-archive:FILE[:REF]`);
}

function checkedConfig(bytes: Buffer, digest: Digest | undefined, what: string): ImageConfig {
  if (digest && digestOf(bytes) !== digest)
    throw new DigestMismatchError(`${what} config`, digest, digestOf(bytes));
  return validateConfig(parseJson(bytes, `${what} config`), `${what} config`);
}

function diffIdsFor(config: ImageConfig, layers: number, what: string): Digest[] {
  const ids = config.rootfs.diff_ids;
  if (ids.length !== layers)
    throw new FormatError(`${what}: ${layers} layers but the config lists ${ids.length} diff_ids`);
  return ids;
}

async function openOciLayout(dir: string, tag: string | undefined): Promise<SourceImage> {
  const what = `oci:${dir}${tag ? `:${tag}` : ""}`;
  const blob = (d: Digest) => join(dir, "blobs", d.slice(0, d.indexOf(":")), hexOf(d));
  const index = parseJson(await readFile(join(dir, "index.json")), `${dir}/index.json`) as {
    manifests?: Descriptor[];
  };
  const entries = (index.manifests ?? []).filter(
    (m) => !tag || m.annotations?.["org.opencontainers.image.ref.name"] === tag,
  );
  if (entries.length !== 1) {
    throw new UsageError(
      `${what}: ${entries.length === 0 ? "no image" : "several images"} in the layout${tag ? "" : "; name one with :TAG"}`,
    );
  }
  const manifestDigest = parseDigest(entries[0]!.digest, `${what} manifest`);
  const manifestBytes = await readFile(blob(manifestDigest));
  if (digestOf(manifestBytes) !== manifestDigest)
    throw new DigestMismatchError(`${what} manifest`, manifestDigest, digestOf(manifestBytes));
  const doc = parseManifestDocument(manifestBytes, undefined, `${what} manifest`);
  if (doc.kind !== "manifest")
    throw new UsageError(`${what}: an image index; push one image manifest`);
  const m = doc.manifest;
  const configBytes = await readFile(blob(m.config.digest));
  const config = checkedConfig(configBytes, m.config.digest, what);
  const diffIds = diffIdsFor(config, m.layers.length, what);
  return {
    configBytes,
    config,
    ...(m.annotations ? { annotations: m.annotations } : {}),
    layers: m.layers.map((d, k) => ({
      mediaType: d.mediaType,
      digest: d.digest,
      ...(d.annotations ? { annotations: d.annotations } : {}),
      diffId: diffIds[k]!,
      open: () => createReadStream(blob(d.digest)),
    })),
  };
}

interface Member {
  offset: number;
  size: number;
}

/** Where each member's data is in the archive (one streaming pass over the file). */
async function indexArchive(file: string): Promise<Map<string, Member>> {
  const members = new Map<string, Member>();
  let position = 0;
  for await (const ev of readTar(createReadStream(file))) {
    if (ev.type === "entry") {
      position += ev.raw.length;
      if (ev.header.typeflag === "0" || ev.header.typeflag === "7")
        members.set(ev.header.name.replace(/^\.\//, ""), {
          offset: position,
          size: ev.header.size,
        });
    } else if (ev.type === "data") position += ev.data.length;
  }
  return members;
}

async function openDockerArchive(file: string, ref: string | undefined): Promise<SourceImage> {
  const what = `docker-archive:${file}`;
  const members = await indexArchive(file);
  const read = async (name: string): Promise<Buffer> => {
    const m = members.get(name);
    if (!m) throw new FormatError(`${what}: no member ${JSON.stringify(name)}`);
    const parts: Buffer[] = [];
    for await (const c of stream(name)) parts.push(c as Buffer);
    return Buffer.concat(parts);
  };
  const stream = (name: string) => {
    const m = members.get(name)!;
    return createReadStream(
      file,
      m.size === 0 ? { start: 1, end: 0 } : { start: m.offset, end: m.offset + m.size - 1 },
    );
  };
  const manifest = parseJson(await read("manifest.json"), `${what} manifest.json`) as {
    Config?: string;
    RepoTags?: string[] | null;
    Layers?: string[];
  }[];
  const chosen = Array.isArray(manifest)
    ? manifest.filter((e) => !ref || (e.RepoTags ?? []).includes(ref))
    : [];
  if (chosen.length !== 1)
    throw new UsageError(
      `${what}: ${chosen.length === 0 ? "no image" : "several images"}${ref ? ` named ${ref}` : "; name one with :REF"}`,
    );
  const entry = chosen[0]!;
  if (typeof entry.Config !== "string" || !Array.isArray(entry.Layers))
    throw new FormatError(`${what}: manifest.json entry without Config or Layers`);
  const configBytes = await read(entry.Config);
  const config = checkedConfig(configBytes, undefined, what);
  const layerNames = entry.Layers;
  const diffIds = diffIdsFor(config, layerNames.length, what);
  for (const n of layerNames)
    if (!members.has(n)) throw new FormatError(`${what}: no member ${JSON.stringify(n)}`);
  return {
    configBytes,
    config,
    layers: layerNames.map((n, k) => ({
      // Docker archives hold uncompressed layers; a compressed one is recognised by its magic.
      mediaType: MediaType.OciLayerTar,
      diffId: diffIds[k]!,
      open: () => stream(n),
    })),
  };
}
