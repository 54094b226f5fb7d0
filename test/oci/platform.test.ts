import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MediaType } from "../../src/oci/media-types.js";
import {
  compatiblePlatforms,
  formatPlatform,
  normalizeArch,
  PlatformNotFoundError,
  parsePlatform,
  selectPlatform,
  ZSTD_INSTANCE_ANNOTATION,
} from "../../src/oci/platform.js";
import type { Descriptor, ImageIndex, Platform } from "../../src/oci/types.js";

let n = 0;
function entry(platform: Platform | undefined, extra: Partial<Descriptor> = {}): Descriptor {
  n++;
  const d: Descriptor = {
    mediaType: MediaType.OciManifest,
    digest: `sha256:${n.toString(16).padStart(64, "0")}`,
    size: 100,
    ...extra,
  };
  if (platform) d.platform = platform;
  return d;
}
const index = (...manifests: Descriptor[]): ImageIndex => ({ schemaVersion: 2, manifests });

describe("platform normalisation", () => {
  it("follows containerd's normalizeArch", () => {
    assert.deepEqual(normalizeArch("x86_64"), { architecture: "amd64", variant: "" });
    assert.deepEqual(normalizeArch("amd64", "v1"), { architecture: "amd64", variant: "" });
    assert.deepEqual(normalizeArch("aarch64", "v8"), { architecture: "arm64", variant: "" });
    assert.deepEqual(normalizeArch("arm64", "8"), { architecture: "arm64", variant: "" });
    assert.deepEqual(normalizeArch("armhf"), { architecture: "arm", variant: "v7" });
    assert.deepEqual(normalizeArch("armel"), { architecture: "arm", variant: "v6" });
    assert.deepEqual(normalizeArch("arm"), { architecture: "arm", variant: "v7" });
    assert.deepEqual(normalizeArch("arm", "6"), { architecture: "arm", variant: "v6" });
    assert.deepEqual(normalizeArch("i386"), { architecture: "386", variant: "" });
  });

  it("parses platform strings", () => {
    assert.equal(formatPlatform(parsePlatform("linux/arm64/v8")), "linux/arm64");
    assert.equal(formatPlatform(parsePlatform("linux/arm")), "linux/arm/v7");
    assert.equal(
      formatPlatform(parsePlatform("windows/amd64:10.0.17763")),
      "windows/amd64:10.0.17763",
    );
    assert.throws(() => parsePlatform("linux"), /os\/arch/);
  });

  it("orders fallbacks like containerd platformVector", () => {
    const list = (s: string) => compatiblePlatforms(parsePlatform(s)).map(formatPlatform);
    assert.deepEqual(list("linux/amd64/v3"), [
      "linux/amd64/v3",
      "linux/amd64/v2",
      "linux/amd64",
      "linux/386",
    ]);
    assert.deepEqual(list("linux/arm/v7"), ["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]);
    assert.deepEqual(list("linux/arm64"), [
      "linux/arm64",
      "linux/arm/v8",
      "linux/arm/v7",
      "linux/arm/v6",
      "linux/arm/v5",
    ]);
    assert.deepEqual(list("linux/arm64/v8.2").slice(0, 3), [
      "linux/arm64/v8.2",
      "linux/arm64/v8.1",
      "linux/arm64",
    ]);
  });
});

describe("selectPlatform", () => {
  const amd = entry({ os: "linux", architecture: "amd64" });
  const arm64 = entry({ os: "linux", architecture: "arm64", variant: "v8" });
  const armv6 = entry({ os: "linux", architecture: "arm", variant: "v6" });
  const attestation = entry({ os: "unknown", architecture: "unknown" });
  const noPlatform = entry(undefined);

  it("picks the exact match, normalising both sides", () => {
    const idx = index(attestation, noPlatform, amd, arm64, armv6);
    assert.equal(selectPlatform(idx, { os: "linux", architecture: "x86_64" }), amd);
    assert.equal(selectPlatform(idx, { os: "linux", architecture: "aarch64" }), arm64);
  });

  it("falls back in containerd's order", () => {
    const idx = index(armv6, entry({ os: "linux", architecture: "386" }));
    assert.equal(selectPlatform(idx, parsePlatform("linux/arm/v7")), armv6);
    assert.equal(selectPlatform(index(armv6), parsePlatform("linux/arm64")), armv6);
    const i386 = idx.manifests[1]!;
    assert.equal(selectPlatform(idx, parsePlatform("linux/amd64")), i386);
    assert.throws(
      () => selectPlatform(idx, parsePlatform("linux/amd64"), { strict: true }),
      PlatformNotFoundError,
    );
  });

  it("prefers a better rank over index order, then the zstd instance, then index order", () => {
    const v2 = entry({ os: "linux", architecture: "amd64", variant: "v2" });
    const v3 = entry({ os: "linux", architecture: "amd64", variant: "v3" });
    assert.equal(selectPlatform(index(v2, v3), parsePlatform("linux/amd64/v3")), v3);
    const gzip = entry({ os: "linux", architecture: "amd64" });
    const zstd = entry(
      { os: "linux", architecture: "amd64" },
      { annotations: { [ZSTD_INSTANCE_ANNOTATION]: "true" } },
    );
    assert.equal(selectPlatform(index(gzip, zstd), parsePlatform("linux/amd64")), zstd);
    assert.equal(
      selectPlatform(index(gzip, zstd), parsePlatform("linux/amd64"), { preferZstd: false }),
      gzip,
    );
  });

  it("skips attestations and unknown media types, and lists what is available", () => {
    const weird = entry(
      { os: "linux", architecture: "s390x" },
      { mediaType: "application/x-unknown" },
    );
    const idx = index(attestation, noPlatform, weird, amd, arm64);
    assert.throws(
      () => selectPlatform(idx, parsePlatform("linux/s390x"), {}, "example.com/app:1"),
      (e: unknown) =>
        e instanceof PlatformNotFoundError &&
        e.wanted === "linux/s390x" &&
        e.available.join(",") === "linux/amd64,linux/arm64" &&
        /example\.com\/app:1 has no manifest for platform linux\/s390x; available: linux\/amd64, linux\/arm64/.test(
          e.message,
        ),
    );
  });
});
