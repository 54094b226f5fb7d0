/**
 * `--output docker-archive:FILE[:REF]`: the image as the tar `docker save` writes and
 * `docker load` / `podman load` / `skopeo copy docker-archive:` read: `manifest.json` (Config,
 * RepoTags, Layers), the config byte for byte under `<hex>.json`, and each layer's exact tar
 * under `<diff_id hex>.tar` (skopeo's naming; a layer listed twice is written once).
 *
 * Streaming: a layer's member header is written with size 0, the tar streamed after it, and
 * the header rewritten in place once the size is known. The file is written as FILE.partial
 * and renamed when complete, so FILE is never a half archive.
 */
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { type Digest, digestOf, hexOf } from "../digest.js";
import { UnsupportedError } from "../errors.js";
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from "../formats/tar/index.js";
import type { OutputImage } from "./image.js";

/** A USTAR size field holds 11 octal digits; a bigger layer would need a longer header. */
const MAX_MEMBER_SIZE = 8 ** 11 - 1;

export interface DockerArchiveResult {
  file: string;
  configDigest: Digest;
  bytes: number;
}

class Appender {
  position = 0;
  constructor(readonly fh: FileHandle) {}
  async write(buf: Buffer): Promise<void> {
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, done, buf.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }
  async member(name: string, data: Buffer): Promise<void> {
    await this.write(memberHeader(name, data.length));
    await this.write(data);
    await this.write(tarPadding(data.length));
  }
}

function memberHeader(name: string, size: number): Buffer {
  return encodeTarHeader({ name, typeflag: "0", size, mode: 0o644, mtime: 0 });
}

export async function writeDockerArchive(
  file: string,
  image: OutputImage,
  opts: { repoTags?: string[] } = {},
): Promise<DockerArchiveResult> {
  const partial = `${file}.partial`;
  const fh = await open(partial, "w", 0o644);
  try {
    const out = new Appender(fh);
    const configDigest = digestOf(image.configBytes);
    const configName = `${hexOf(configDigest)}.json`;
    await out.member(configName, image.configBytes);
    const written = new Set<Digest>();
    for (const diffId of image.diffIds) {
      if (written.has(diffId)) continue;
      written.add(diffId);
      await writeLayer(out, `${hexOf(diffId)}.tar`, image.layerTar(diffId));
    }
    const manifest = [
      {
        Config: configName,
        RepoTags: opts.repoTags ?? [],
        Layers: image.diffIds.map((d) => `${hexOf(d)}.tar`),
      },
    ];
    await out.member("manifest.json", Buffer.from(JSON.stringify(manifest)));
    await out.write(END_OF_ARCHIVE);
    await fh.close();
    await rename(partial, file);
    return { file, configDigest, bytes: out.position };
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(partial, { force: true });
    throw err;
  }
}

async function writeLayer(out: Appender, name: string, tar: AsyncIterable<Buffer>): Promise<void> {
  const headerAt = out.position;
  await out.write(memberHeader(name, 0));
  let size = 0;
  for await (const piece of tar) {
    size += piece.length;
    await out.write(piece);
  }
  if (size > MAX_MEMBER_SIZE) {
    throw new UnsupportedError(
      `layer ${name} is ${size} bytes: over 8 GiB, too big for docker-archive here`,
    );
  }
  await out.write(tarPadding(size));
  const header = memberHeader(name, size);
  await out.fh.write(header, 0, header.length, headerAt);
}
