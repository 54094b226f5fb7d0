import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeEstargzFooter } from "../../src/formats/estargz/footer.js";
import { openEstargz } from "../../src/formats/estargz/reader.js";
import { memorySource, vector } from "./helpers.js";
import { rewriteToc } from "./tar-fixtures.js";

const { blob, info } = vector("small", "estargz");
const open = (b: Buffer, annotations: Record<string, string> = info.annotations) =>
  openEstargz(memorySource(b), { annotations });

describe("openEstargz refuses hostile blobs", () => {
  it("wrong TOC digest annotation", async () => {
    await assert.rejects(
      open(blob, { "containerd.io/snapshot/stargz/toc.digest": `sha256:${"0".repeat(64)}` }),
      { name: "DigestMismatchError" },
    );
  });

  it("truncated footer", async () => {
    await assert.rejects(open(blob.subarray(0, blob.length - 1)), { name: "FormatError" });
    await assert.rejects(open(blob.subarray(0, 30)), { name: "FormatError" });
  });

  it("TOC offset past the end of the blob", async () => {
    const b = Buffer.concat([
      blob.subarray(0, blob.length - 51),
      encodeEstargzFooter(blob.length + 10),
    ]);
    await assert.rejects(open(b), { name: "FormatError", message: /not before the footer/ });
  });

  it("TOC offset not at a TOC member", async () => {
    const b = Buffer.concat([blob.subarray(0, blob.length - 51), encodeEstargzFooter(0)]);
    await assert.rejects(open(b), { name: "FormatError" });
  });

  it("chunk digest mismatch is caught by decodeChunk", async () => {
    const { blob: b, annotations } = rewriteToc(blob, (toc) => {
      const e = toc.entries.find((x) => x.name === "etc/motd");
      if (!e) throw new Error("fixture changed");
      e.chunkDigest = `sha256:${"1".repeat(64)}`;
    });
    const layer = await open(b, annotations);
    const file = layer.files.find((f) => f.name === "etc/motd");
    const chunk = file?.chunks[0];
    assert.ok(chunk);
    const bytes = b.subarray(chunk.offset, chunk.end);
    await assert.rejects(layer.decodeChunk(bytes, chunk), {
      name: "DigestMismatchError",
      message: /etc\/motd/,
    });
  });

  it("decodeChunk wants exactly the chunk's compressed range", async () => {
    const layer = await open(blob);
    const chunk = layer.files[0]?.chunks[0];
    assert.ok(chunk);
    await assert.rejects(layer.decodeChunk(blob.subarray(chunk.offset, chunk.end + 1), chunk), {
      name: "FormatError",
    });
  });

  it("names with .. are refused even when the TOC digest matches", async () => {
    const { blob: b, annotations } = rewriteToc(blob, (toc) => {
      const e = toc.entries.find((x) => x.name === "etc/motd");
      if (e) e.name = "etc/../../motd";
    });
    await assert.rejects(open(b, annotations), { name: "FormatError", message: /"\.\."/ });
  });

  it("data offsets pointing into the TOC are refused", async () => {
    const { blob: b, annotations } = rewriteToc(blob, (toc) => {
      const e = toc.entries.find((x) => x.name === "etc/motd");
      if (e) e.offset = blob.length;
    });
    await assert.rejects(open(b, annotations), {
      name: "FormatError",
      message: /not before the TOC/,
    });
  });

  it("a TOC over the size limit is refused before inflating", async () => {
    await assert.rejects(
      openEstargz(memorySource(blob), { annotations: info.annotations, maxTocSize: 100 }),
      { name: "LimitExceededError" },
    );
  });
});
