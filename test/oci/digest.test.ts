import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { createHasher, digestOf, parseDigest, verifyBytes } from "../../src/digest.js";
import { DigestMismatchError, FormatError } from "../../src/errors.js";

test("blake3 (loaded on first use) hashes like the BLAKE3 reference vectors", () => {
  // BLAKE3 of "abc" and of the empty input, from the BLAKE3 reference implementation.
  assert.equal(
    digestOf(Buffer.from("abc"), "blake3"),
    "blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
  );
  const h = createHasher("blake3");
  h.update(Buffer.from(""));
  assert.equal(
    h.digest(),
    "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
  );
  const d = digestOf(Buffer.from("x"), "blake3");
  assert.throws(() => verifyBytes(Buffer.from("y"), d, "blob"), DigestMismatchError);
});

test("sha256 and sha512 digests, and digest parsing", () => {
  const data = Buffer.from("chunkpull");
  assert.equal(digestOf(data), `sha256:${createHash("sha256").update(data).digest("hex")}`);
  assert.equal(
    digestOf(data, "sha512"),
    `sha512:${createHash("sha512").update(data).digest("hex")}`,
  );
  assert.throws(() => parseDigest("sha256:abc"), FormatError);
  assert.throws(() => parseDigest("md5:abc"), FormatError);
});
