import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../../src/errors.js";
import { isLoopbackHost, parseReference } from "../../src/reference.js";

const D = `sha256:${"a".repeat(64)}`;

describe("parseReference", () => {
  it("normalises Docker Hub short names", () => {
    const r = parseReference("alpine");
    assert.equal(r.registry, "docker.io");
    assert.equal(r.endpoint, "registry-1.docker.io");
    assert.equal(r.repository, "library/alpine");
    assert.equal(r.tag, "latest");
    assert.equal(r.digest, undefined);
    assert.equal(r.manifestRef, "latest");
    assert.equal(r.toString(), "docker.io/library/alpine:latest");
  });

  it("keeps user namespaces on Docker Hub and maps index.docker.io", () => {
    assert.equal(parseReference("bitnami/redis:7").toString(), "docker.io/bitnami/redis:7");
    assert.equal(
      parseReference("index.docker.io/ubuntu").toString(),
      "docker.io/library/ubuntu:latest",
    );
    assert.equal(parseReference("docker.io/library/busybox:1.36").repository, "library/busybox");
  });

  it("parses host:port, localhost, nested paths, tags and digests", () => {
    const r = parseReference(`localhost:5000/a/b/c:v1.2_3@${D}`);
    assert.equal(r.registry, "localhost:5000");
    assert.equal(r.endpoint, "localhost:5000");
    assert.equal(r.repository, "a/b/c");
    assert.equal(r.tag, "v1.2_3");
    assert.equal(r.digest, D);
    assert.equal(r.manifestRef, D);
    assert.equal(r.toString(), `localhost:5000/a/b/c:v1.2_3@${D}`);
    const l = parseReference("localhost/app");
    assert.equal(l.registry, "localhost");
    assert.equal(l.repository, "app");
    const d = parseReference(`ghcr.io/o/r@${D}`);
    assert.equal(d.tag, undefined);
    assert.equal(d.toString(), `ghcr.io/o/r@${D}`);
    assert.equal(parseReference("[::1]:5000/x").registry, "[::1]:5000");
  });

  it("treats a first component without . or : as a path (Docker Hub)", () => {
    const r = parseReference("myorg/app:1");
    assert.equal(r.registry, "docker.io");
    assert.equal(r.repository, "myorg/app");
  });

  it("rejects bad references with messages naming the problem", () => {
    const cases: Array<[string, RegExp]> = [
      ["", /empty/],
      ["Alpine", /lowercase/],
      ["alpine:-bad", /invalid tag/],
      [`alpine@sha256:${"z".repeat(64)}`, /invalid digest/],
      ["alpine@sha256:abc", /64 hex digits/],
      ["https://ghcr.io/a/b", /URL scheme/],
      ["ghcr.io/a//b", /path component ""/],
      ["ghcr.io/a b", /whitespace/],
      [`ghcr.io/${"a".repeat(300)}`, /longer than 255/],
      ["bad_host:99999999/x", /invalid registry host/],
    ];
    for (const [input, re] of cases) {
      assert.throws(
        () => parseReference(input),
        (e: unknown) => e instanceof UsageError && re.test(e.message),
        input,
      );
    }
  });

  it("recognises loopback hosts", () => {
    assert.ok(isLoopbackHost("localhost:5000"));
    assert.ok(isLoopbackHost("127.0.0.1:1234"));
    assert.ok(isLoopbackHost("[::1]:80"));
    assert.ok(!isLoopbackHost("ghcr.io"));
    assert.ok(!isLoopbackHost("128.0.0.1"));
  });
});
