import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FormatError } from "../../src/errors.js";
import { layerCompression, MANIFEST_ACCEPT, MediaType } from "../../src/oci/media-types.js";
import {
  parseManifestDocument,
  validateConfig,
  validateDescriptor,
  validateManifest,
} from "../../src/oci/validate.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: D1, size: 10 },
  layers: [{ mediaType: MediaType.OciLayerZstd, digest: D2, size: 20, annotations: { a: "b" } }],
};

function throwsFormat(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof FormatError && re.test(e.message));
}

describe("OCI validation", () => {
  it("accepts a valid manifest and keeps its fields", () => {
    const m = validateManifest(manifest);
    assert.equal(m.layers[0]!.annotations!.a, "b");
    assert.equal(m.config.size, 10);
  });

  it("names the bad field", () => {
    throwsFormat(
      () => validateManifest({ ...manifest, schemaVersion: 1 }),
      /manifest\.schemaVersion: expected 2/,
    );
    throwsFormat(
      () =>
        validateManifest({
          ...manifest,
          layers: [{ ...manifest.layers[0], digest: "sha256:xyz" }],
        }),
      /manifest\.layers\[0\]\.digest/,
    );
    throwsFormat(
      () => validateDescriptor({ mediaType: "x", digest: D1, size: -1 }),
      /descriptor\.size/,
    );
    throwsFormat(
      () => validateDescriptor({ mediaType: "x", digest: D1, size: 1.5 }),
      /descriptor\.size/,
    );
    throwsFormat(
      () => validateDescriptor({ mediaType: 3, digest: D1, size: 1 }),
      /descriptor\.mediaType/,
    );
    throwsFormat(
      () => validateDescriptor({ mediaType: "x", digest: D1, size: 1, annotations: { k: 1 } }),
      /annotations\["k"\]/,
    );
  });

  it("validates config rootfs.diff_ids", () => {
    const ok = validateConfig({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [D1] },
    });
    assert.deepEqual(ok.rootfs.diff_ids, [D1]);
    throwsFormat(
      () =>
        validateConfig({ architecture: "amd64", os: "linux", rootfs: { type: "x", diff_ids: [] } }),
      /rootfs\.type/,
    );
    throwsFormat(
      () =>
        validateConfig({
          architecture: "amd64",
          os: "linux",
          rootfs: { type: "layers", diff_ids: ["nope"] },
        }),
      /rootfs\.diff_ids\[0\]/,
    );
    throwsFormat(
      () => validateConfig({ os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
      /config\.architecture/,
    );
  });

  it("classifies manifest documents by Content-Type, body mediaType or shape", () => {
    const bytes = Buffer.from(JSON.stringify(manifest));
    assert.equal(
      parseManifestDocument(bytes, `${MediaType.OciManifest}; charset=utf-8`).kind,
      "manifest",
    );
    assert.equal(parseManifestDocument(bytes, "application/json").kind, "manifest");
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    assert.equal(parseManifestDocument(index, undefined).kind, "index");
    throwsFormat(
      () => parseManifestDocument(bytes, MediaType.OciIndex),
      /does not match Content-Type/,
    );
    throwsFormat(
      () => parseManifestDocument(Buffer.from("{nope"), MediaType.OciManifest),
      /invalid JSON/,
    );
    throwsFormat(
      () =>
        parseManifestDocument(
          Buffer.from(
            JSON.stringify({
              schemaVersion: 1,
              mediaType: "application/vnd.docker.distribution.manifest.v1+json",
            }),
          ),
          undefined,
        ),
      /unsupported manifest media type/,
    );
  });

  it("knows layer compressions and a complete Accept list", () => {
    assert.equal(layerCompression(MediaType.OciLayerZstd), "zstd");
    assert.equal(layerCompression(MediaType.DockerLayerGzip), "gzip");
    assert.equal(layerCompression(MediaType.OciLayerTar), "none");
    assert.equal(layerCompression("application/octet-stream"), undefined);
    for (const t of [
      MediaType.OciIndex,
      MediaType.OciManifest,
      MediaType.DockerManifest,
      MediaType.DockerManifestList,
    ]) {
      assert.ok(MANIFEST_ACCEPT.includes(t), t);
    }
  });
});
