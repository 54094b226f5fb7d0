import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  detectFromAnnotations,
  detectFromTail,
  FORMAT_TAIL_SIZE,
  resolveLayerFormat,
} from "../../src/formats/detect.js";
import { encodeEstargzFooter, encodeLegacyFooter } from "../../src/formats/estargz/footer.js";
import { CASES, hasVector, vector } from "../estargz/helpers.js";

const Z = "io.github.containers.zstd-chunked.manifest-checksum";
const ZPOS = "io.github.containers.zstd-chunked.manifest-position";
const E = "containerd.io/snapshot/stargz/toc.digest";
const LZ = "io.containers.zstd-chunked.manifest-checksum";
const LZPOS = "io.containers.zstd-chunked.manifest-position";
const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const D3 = `sha256:${"3".repeat(64)}`;

describe("detectFromAnnotations: the key table", () => {
  it("no annotations / unrelated keys -> none", () => {
    assert.deepEqual(detectFromAnnotations(undefined), { format: "none", ambiguous: false });
    assert.deepEqual(detectFromAnnotations({ "org.opencontainers.image.title": "x" }), {
      format: "none",
      ambiguous: false,
    });
  });

  it("zstd:chunked key only", () => {
    const d = detectFromAnnotations({ [Z]: D1, [ZPOS]: "1:2:3:1" });
    assert.deepEqual(d, {
      format: "zstd:chunked",
      tocDigest: D1,
      ambiguous: false,
      layerFormat: "zstd:chunked",
    });
  });

  it("eStargz key only", () => {
    const d = detectFromAnnotations({ [E]: D2 });
    assert.deepEqual(d, {
      format: "estargz",
      tocDigest: D2,
      ambiguous: false,
      layerFormat: "estargz",
    });
  });

  it("both keys: the zstd:chunked key is taken and flagged; strict rejects", () => {
    const a = { [Z]: D1, [ZPOS]: "1:2:3:1", [E]: D2 };
    const d = detectFromAnnotations(a);
    assert.equal(d.format, "zstd:chunked");
    assert.equal(d.tocDigest, D1);
    assert.equal(d.ambiguous, true);
    assert.throws(() => detectFromAnnotations(a, { strict: true }), {
      name: "FormatError",
      message: /both zstd:chunked and eStargz/,
    });
  });

  it("eStargz key + legacy io.containers keys = stargz-snapshotter zstd flavour, not ambiguous", () => {
    const a = { [E]: D2, [LZ]: D3, [LZPOS]: "1:2:3:1" };
    for (const strict of [false, true]) {
      const d = detectFromAnnotations(a, { strict });
      assert.deepEqual(d, {
        format: "estargz",
        tocDigest: D2,
        ambiguous: false,
        legacyZstdKeys: true,
        layerFormat: "estargz-zstd",
      });
    }
  });

  it("legacy io.containers keys only = c/storage <= 1.43 zstd:chunked", () => {
    const d = detectFromAnnotations({ [LZ]: D3, [LZPOS]: "1:2:3:1" });
    assert.deepEqual(d, {
      format: "zstd:chunked",
      tocDigest: D3,
      ambiguous: false,
      legacyZstdKeys: true,
      layerFormat: "zstd:chunked",
    });
  });

  it("all three families: still the zstd:chunked key, ambiguous", () => {
    const d = detectFromAnnotations({ [Z]: D1, [E]: D2, [LZ]: D3 });
    assert.equal(d.tocDigest, D1);
    assert.equal(d.ambiguous, true);
    assert.equal(d.legacyZstdKeys, true);
  });

  it("eStargz key on a +zstd media type = estargz-zstd", () => {
    const mediaType = "application/vnd.oci.image.layer.v1.tar+zstd";
    assert.equal(detectFromAnnotations({ [E]: D2 }, { mediaType }).layerFormat, "estargz-zstd");
    assert.equal(
      detectFromAnnotations({ [E]: D2 }, { mediaType: `${mediaType.slice(0, -5)}+gzip` })
        .layerFormat,
      "estargz",
    );
  });

  it("presence, not emptiness: an empty or malformed value is a hard error", () => {
    assert.throws(() => detectFromAnnotations({ [E]: "" }), { name: "FormatError" });
    assert.throws(() => detectFromAnnotations({ [Z]: "sha256:abc" }), { name: "FormatError" });
  });
});

const PREFIX_EXPECT: Record<
  string,
  { ann: string; layer: string; tail: string; variant?: string }
> = {
  "zstdchunked-v2": {
    ann: "zstd:chunked",
    layer: "zstd:chunked",
    tail: "zstd:chunked",
    variant: "C",
  },
  "zstdchunked-v2-legacy151": {
    ann: "zstd:chunked",
    layer: "zstd:chunked",
    tail: "zstd:chunked",
    variant: "C",
  },
  "zstdchunked-v1": {
    ann: "zstd:chunked",
    layer: "zstd:chunked",
    tail: "zstd:chunked",
    variant: "A",
  },
  estargz: { ann: "estargz", layer: "estargz", tail: "estargz" },
  "estargz-zstd": { ann: "estargz", layer: "estargz-zstd", tail: "zstd:chunked", variant: "A" },
};

describe("detection on every reference vector", () => {
  for (const name of CASES) {
    for (const [prefix, want] of Object.entries(PREFIX_EXPECT)) {
      if (!hasVector(name, prefix)) continue;
      it(`${name}/${prefix}`, () => {
        const { blob, info } = vector(name, prefix);
        const ann = detectFromAnnotations(info.annotations, { strict: true });
        assert.equal(ann.format, want.ann);
        assert.equal(ann.layerFormat, want.layer);
        assert.equal(ann.tocDigest, info.toc_digest);
        assert.equal(ann.ambiguous, false);
        assert.equal(
          ann.legacyZstdKeys === true,
          prefix === "zstdchunked-v1" || prefix === "estargz-zstd",
        );
        const tail = detectFromTail(blob.subarray(blob.length - FORMAT_TAIL_SIZE), blob.length);
        assert.equal(tail.format, want.tail);
        if (tail.format === "zstd:chunked") {
          assert.equal(tail.variant, want.variant);
          assert.equal(tail.alsoEstargzZstd, want.variant === "A");
        }
        if (tail.format === "estargz") assert.equal(tail.footerSize, 51);
        assert.equal(resolveLayerFormat(ann, tail), want.layer);
      });
    }
  }
});

describe("detectFromTail / resolveLayerFormat edge cases", () => {
  it("legacy 47-byte footer and a tail longer than needed", () => {
    const blob = Buffer.concat([Buffer.alloc(100), encodeLegacyFooter(10)]);
    assert.deepEqual(detectFromTail(blob, blob.length), {
      format: "estargz",
      footerSize: 47,
      tocOffset: 10,
    });
  });

  it("an eStargz footer whose TOC offset is past the footer is not eStargz", () => {
    const blob = Buffer.concat([Buffer.alloc(100), encodeEstargzFooter(500)]);
    assert.deepEqual(detectFromTail(blob, blob.length), { format: "none" });
  });

  it("short or foreign tails", () => {
    assert.deepEqual(detectFromTail(Buffer.alloc(10), 10), { format: "none" });
    assert.deepEqual(detectFromTail(Buffer.alloc(FORMAT_TAIL_SIZE, 0x41), 1000), {
      format: "none",
    });
  });

  it("annotations and footer must agree", () => {
    const { blob: gz } = vector("small", "estargz");
    const gzTail = detectFromTail(gz.subarray(gz.length - FORMAT_TAIL_SIZE), gz.length);
    assert.throws(() => resolveLayerFormat(detectFromAnnotations({ [Z]: D1 }), gzTail), {
      name: "FormatError",
      message: /zstd:chunked but the blob footer says estargz/,
    });
    const { blob: v2 } = vector("small", "zstdchunked-v2");
    const v2Tail = detectFromTail(v2.subarray(v2.length - FORMAT_TAIL_SIZE), v2.length);
    assert.throws(() => resolveLayerFormat(detectFromAnnotations({ [E]: D2, [LZ]: D3 }), v2Tail), {
      name: "FormatError",
    });
    assert.equal(resolveLayerFormat(detectFromAnnotations({}), v2Tail), undefined);
  });
});
