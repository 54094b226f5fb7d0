/** Small hand-made tars and blob surgery for the eStargz tests. */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { encodeEstargzFooter, parseEstargzFooter } from "../../src/formats/estargz/footer.js";
import {
  encodeTocTar,
  readTocTarEntry,
  zeroMetadataFileHeader,
} from "../../src/formats/estargz/toc-tar.js";

/** A USTAR header; `typeflag` other than '0' is patched in with a fresh checksum. */
export function header(name: string, size: number, typeflag = "0"): Buffer {
  const h = zeroMetadataFileHeader(name, size);
  if (typeflag !== "0") {
    h.write(typeflag, 156, "latin1");
    h.write("        ", 148, "latin1");
    const sum = h.reduce((a, b) => a + b, 0);
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  }
  return h;
}

export function tarOf(
  files: Array<{ name: string; data?: Buffer | string; typeflag?: string }>,
): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const data = typeof f.data === "string" ? Buffer.from(f.data) : (f.data ?? Buffer.alloc(0));
    parts.push(
      header(f.name, data.length, f.typeflag),
      data,
      Buffer.alloc((512 - (data.length % 512)) % 512),
    );
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/**
 * Replace the TOC of a gzip eStargz blob by `mutate(toc object)`, re-serialised with
 * JSON.stringify. Returns the new blob and the toc.digest annotation that vouches for it.
 */
export function rewriteToc(
  blob: Buffer,
  mutate: (toc: { version: number; entries: Array<Record<string, unknown>> }) => void,
): { blob: Buffer; annotations: Record<string, string> } {
  const footer = parseEstargzFooter(blob, blob.length);
  const member = blob.subarray(footer.tocOffset, blob.length - footer.size);
  const toc = JSON.parse(readTocTarEntry(gunzipSync(member), 1 << 30).toString("utf8"));
  mutate(toc);
  const json = Buffer.from(JSON.stringify(toc));
  const out = Buffer.concat([
    blob.subarray(0, footer.tocOffset),
    gzipSync(encodeTocTar(json)),
    encodeEstargzFooter(footer.tocOffset),
  ]);
  const digest = `sha256:${createHash("sha256").update(json).digest("hex")}`;
  return { blob: out, annotations: { "containerd.io/snapshot/stargz/toc.digest": digest } };
}
