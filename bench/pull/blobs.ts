/**
 * Layer blobs for the pull bench, built once per (tar, format) into the data directory and
 * pushed to the registry by streaming uploads (a 300 MB blob never sits in memory). The old
 * zstd:chunked layout is produced by skopeo itself (c/storage's writer), from the gzip image.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { link, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { convertLayer } from "../../src/formats/convert.js";

export type OwnFormat = "zstd:chunked" | "estargz" | "gzip";

export interface LayerBlob {
  path: string;
  digest: string;
  size: number;
  diffId: string;
  mediaType: string;
  annotations?: Record<string, string>;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const b of createReadStream(path)) h.update(b as Buffer);
  return `sha256:${h.digest("hex")}`;
}

/** Builds (or reuses) the blob of `tarPath` in `format`; metadata is cached beside it. */
export async function buildBlob(tarPath: string, format: OwnFormat): Promise<LayerBlob> {
  const suffix = format === "zstd:chunked" ? "zstdchunked" : format;
  const path = `${tarPath}.${suffix}`;
  const meta = `${path}.json`;
  if (existsSync(meta)) return JSON.parse(await readFile(meta, "utf8")) as LayerBlob;
  const tmp = `${path}.tmp`;
  let blob: LayerBlob;
  if (format === "gzip") {
    const diffId = await sha256File(tarPath);
    await pipeline(createReadStream(tarPath), createGzip({ level: 6 }), createWriteStream(tmp));
    blob = {
      path,
      digest: await sha256File(tmp),
      size: (await stat(tmp)).size,
      diffId,
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    };
  } else {
    const out = createWriteStream(tmp);
    // eStargz at gzip level 6 (the reference writer's 9 is 5x slower to build, same pull path).
    const r = await convertLayer(
      createReadStream(tarPath),
      format,
      async (b) => {
        if (!out.write(b)) await once(out, "drain");
      },
      { level: format === "estargz" ? 6 : undefined },
    );
    out.end();
    await once(out, "finish");
    blob = {
      path,
      digest: r.blobDigest,
      size: r.blobSize,
      diffId: r.diffId,
      mediaType: r.mediaType,
      annotations: r.annotations,
    };
  }
  await rename(tmp, path);
  await writeFile(meta, JSON.stringify(blob));
  return blob;
}

/** Monolithic streaming upload (POST session + PUT), skipped when the registry has the blob. */
export async function pushBlob(
  base: string,
  repo: string,
  digest: string,
  body: { path: string } | { bytes: Buffer },
) {
  const head = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { method: "HEAD" });
  if (head.status === 200) return;
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await start.arrayBuffer();
  if (start.status !== 202) throw new Error(`upload to ${repo}: POST answered ${start.status}`);
  const loc = new URL(start.headers.get("location") ?? "", `${base}/`);
  loc.searchParams.set("digest", digest);
  const size = "path" in body ? (await stat(body.path)).size : body.bytes.length;
  // node:http, not fetch: a streamed body with an exact Content-Length.
  const put = request(loc, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream", "content-length": String(size) },
  });
  const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
    put.on("error", reject);
    put.on("response", async (res) => {
      let text = "";
      for await (const c of res) text += c;
      resolve({ status: res.statusCode ?? 0, text });
    });
  });
  if ("path" in body) await pipeline(createReadStream(body.path), put);
  else put.end(body.bytes);
  const { status, text } = await answered;
  if (status !== 201) throw new Error(`upload ${digest}: PUT answered ${status}: ${text}`);
}

const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** The config (listing the diff_ids) and the OCI manifest of an image made of `layers`. */
function imageDocs(layers: LayerBlob[]) {
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: digestOf(config),
        size: config.length,
      },
      layers: layers.map((l) => ({
        mediaType: l.mediaType,
        digest: l.digest,
        size: l.size,
        ...(l.annotations ? { annotations: l.annotations } : {}),
      })),
    }),
  );
  return { config, manifest };
}

/** Pushes the layers, a config listing their diff_ids and an OCI manifest under `tag`. */
export async function pushImage(
  base: string,
  repo: string,
  tag: string,
  layers: LayerBlob[],
): Promise<void> {
  for (const l of layers) await pushBlob(base, repo, l.digest, { path: l.path });
  const { config, manifest } = imageDocs(layers);
  await pushBlob(base, repo, digestOf(config), { bytes: config });
  const put = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`manifest ${repo}:${tag}: ${put.status}: ${text}`);
}

/** A one-image OCI layout (blobs hard-linked), the source skopeo recompresses from. */
async function writeLayout(dir: string, layers: LayerBlob[]): Promise<void> {
  const blobs = join(dir, "blobs", "sha256");
  await rm(dir, { recursive: true, force: true });
  await mkdir(blobs, { recursive: true });
  const { config, manifest } = imageDocs(layers);
  for (const l of layers) await link(l.path, join(blobs, l.digest.slice(7)));
  await writeFile(join(blobs, digestOf(config).slice(7)), config);
  await writeFile(join(blobs, digestOf(manifest).slice(7)), manifest);
  await writeFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: digestOf(manifest),
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "img" },
        },
      ],
    }),
  );
}

/**
 * The old zstd:chunked layout (the one skopeo 1.9.3 can pull partially): skopeo recompresses
 * the gzip layers with c/storage's writer, from a local OCI layout (copying registry to the same
 * registry would only re-link the gzip blob). Returns the new image's layer descriptors.
 */
export async function skopeoRecompress(
  host: string,
  repo: string,
  layers: LayerBlob[],
  toTag: string,
  scratch: string,
): Promise<Array<{ digest: string; size: number; annotations?: Record<string, string> }>> {
  await writeLayout(scratch, layers);
  execFileSync(
    "skopeo",
    [
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--dest-compress-format",
      "zstd:chunked",
      `oci:${scratch}:img`,
      `docker://${host}/${repo}:${toTag}`,
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  await rm(scratch, { recursive: true, force: true });
  const raw = execFileSync(
    "skopeo",
    ["inspect", "--raw", "--tls-verify=false", `docker://${host}/${repo}:${toTag}`],
    { encoding: "utf8" },
  );
  return (JSON.parse(raw) as { layers: Array<{ digest: string; size: number }> }).layers;
}
