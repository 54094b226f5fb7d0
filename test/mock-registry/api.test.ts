import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { pattern, raw } from "./client.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

function manifestFor(config: Buffer, layers: Buffer[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: sha(config),
      size: config.length,
    },
    layers: layers.map((l) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: sha(l),
      size: l.length,
    })),
  });
}

function errorCode(body: Buffer): string {
  return (JSON.parse(body.toString()) as { errors: Array<{ code: string }> }).errors[0]!.code;
}

describe("mock registry distribution API (memory storage)", () => {
  let reg: MockRegistry;
  before(async () => {
    reg = await startMockRegistry({ maxUploadBytes: 4096 });
  });
  after(() => reg.close());

  test("ping answers 200 {} with the API version header", async () => {
    const r = await raw(`${reg.url}/v2/`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "{}");
    assert.equal(r.headers["docker-distribution-api-version"], "registry/2.0");
  });

  test("chunked upload: POST, PATCH x2 with Content-Range, PUT with digest; blob visible after", async () => {
    const data = pattern(3000, 7);
    const start = await raw(`${reg.url}/v2/app/up/blobs/uploads/`, { method: "POST" });
    assert.equal(start.status, 202);
    const loc = String(start.headers.location);
    assert.match(loc, /^\/v2\/app\/up\/blobs\/uploads\/[0-9a-f-]+$/);
    assert.equal(start.headers.range, "0-0");
    const p1 = await raw(reg.url + loc, {
      method: "PATCH",
      body: data.subarray(0, 1000),
      headers: { "Content-Range": "0-999", "Content-Type": "application/octet-stream" },
    });
    assert.equal(p1.status, 202);
    assert.equal(p1.headers.range, "0-999");
    const wrong = await raw(reg.url + loc, {
      method: "PATCH",
      body: "x",
      headers: { "Content-Range": "5-5" },
    });
    assert.equal(wrong.status, 416);
    const p2 = await raw(reg.url + loc, { method: "PATCH", body: data.subarray(1000, 2500) });
    assert.equal(p2.headers.range, "0-2499");
    // Not visible before the PUT.
    assert.equal((await raw(`${reg.url}/v2/app/up/blobs/${sha(data)}`)).status, 404);
    const put = await raw(`${reg.url + loc}?digest=${sha(data)}`, {
      method: "PUT",
      body: data.subarray(2500),
    });
    assert.equal(put.status, 201);
    assert.equal(put.headers["docker-content-digest"], sha(data));
    const get = await raw(`${reg.url}/v2/app/up/blobs/${sha(data)}`);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, data);
    const head = await raw(`${reg.url}/v2/app/up/blobs/${sha(data)}`, { method: "HEAD" });
    assert.equal(head.headers["content-length"], "3000");
    assert.equal(head.body.length, 0);
  });

  test("monolithic POST with digest; wrong digest is DIGEST_INVALID and stores nothing", async () => {
    const data = pattern(500, 3);
    const ok = await raw(`${reg.url}/v2/app/mono/blobs/uploads/?digest=${sha(data)}`, {
      method: "POST",
      body: data,
    });
    assert.equal(ok.status, 201);
    const other = pattern(500, 4);
    const bad = await raw(`${reg.url}/v2/app/mono/blobs/uploads/?digest=${sha(other)}`, {
      method: "POST",
      body: data,
    });
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad.body), "DIGEST_INVALID");
    assert.equal((await raw(`${reg.url}/v2/app/mono/blobs/${sha(other)}`)).status, 404);
  });

  test("cross-repository mount links an existing blob, unknown source falls back to a session", async () => {
    const data = pattern(200, 9);
    await reg.putBlob("src/repo", data);
    const m = await raw(`${reg.url}/v2/dst/repo/blobs/uploads/?mount=${sha(data)}&from=src/repo`, {
      method: "POST",
    });
    assert.equal(m.status, 201);
    assert.equal(m.headers.location, `/v2/dst/repo/blobs/${sha(data)}`);
    assert.deepEqual((await raw(`${reg.url}/v2/dst/repo/blobs/${sha(data)}`)).body, data);
    const miss = await raw(
      `${reg.url}/v2/dst/repo/blobs/uploads/?mount=${sha("nope")}&from=src/repo`,
      { method: "POST" },
    );
    assert.equal(miss.status, 202);
  });

  test("manifests: PUT by tag, GET/HEAD with strict Accept, by digest, DELETE", async () => {
    const config = Buffer.from('{"rootfs":{"type":"layers","diff_ids":[]}}');
    const layer = pattern(100, 11);
    const missing = manifestFor(config, [layer]);
    const early = await raw(`${reg.url}/v2/app/m/manifests/v1`, {
      method: "PUT",
      body: missing,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    assert.equal(early.status, 400);
    assert.equal(errorCode(early.body), "MANIFEST_BLOB_UNKNOWN");
    await reg.putBlob("app/m", config);
    await reg.putBlob("app/m", layer);
    const put = await raw(`${reg.url}/v2/app/m/manifests/v1`, {
      method: "PUT",
      body: missing,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    assert.equal(put.status, 201);
    const digest = sha(missing);
    assert.equal(put.headers["docker-content-digest"], digest);
    const noAccept = await raw(`${reg.url}/v2/app/m/manifests/v1`);
    assert.equal(noAccept.status, 404);
    assert.equal(errorCode(noAccept.body), "MANIFEST_UNKNOWN");
    const wrongAccept = await raw(`${reg.url}/v2/app/m/manifests/v1`, {
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json, */*" },
    });
    assert.equal(wrongAccept.status, 404);
    const get = await raw(`${reg.url}/v2/app/m/manifests/v1`, {
      headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST};q=0.9` },
    });
    assert.equal(get.status, 200);
    assert.equal(get.body.toString(), missing);
    assert.equal(get.headers["content-type"], OCI_MANIFEST);
    assert.equal(get.headers["docker-content-digest"], digest);
    const head = await raw(`${reg.url}/v2/app/m/manifests/${digest}`, {
      method: "HEAD",
      headers: { Accept: OCI_MANIFEST },
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], String(Buffer.byteLength(missing)));
    const byWrongDigest = await raw(`${reg.url}/v2/app/m/manifests/${sha("x")}`, {
      method: "PUT",
      body: missing,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    assert.equal(errorCode(byWrongDigest.body), "DIGEST_INVALID");
    const del = await raw(`${reg.url}/v2/app/m/manifests/${digest}`, { method: "DELETE" });
    assert.equal(del.status, 202);
    assert.equal(
      (await raw(`${reg.url}/v2/app/m/manifests/v1`, { headers: { Accept: OCI_MANIFEST } })).status,
      404,
    );
  });

  test("manifest body mediaType must equal Content-Type; invalid JSON is MANIFEST_INVALID", async () => {
    await reg.putBlob("app/mi", Buffer.from("{}"));
    const doc = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    const r = await raw(`${reg.url}/v2/app/mi/manifests/t`, {
      method: "PUT",
      body: doc,
      headers: { "Content-Type": OCI_MANIFEST },
    });
    assert.equal(errorCode(r.body), "MANIFEST_INVALID");
    const j = await raw(`${reg.url}/v2/app/mi/manifests/t`, {
      method: "PUT",
      body: "{no",
      headers: { "Content-Type": OCI_MANIFEST },
    });
    assert.equal(errorCode(j.body), "MANIFEST_INVALID");
  });

  test("tags list with n/last pagination and Link; catalog", async () => {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    for (const t of ["b", "a", "c", "d"]) await reg.putManifest("app/tags", t, body, OCI_INDEX);
    const all = await raw(`${reg.url}/v2/app/tags/tags/list`);
    assert.deepEqual(JSON.parse(all.body.toString()), {
      name: "app/tags",
      tags: ["a", "b", "c", "d"],
    });
    const page = await raw(`${reg.url}/v2/app/tags/tags/list?n=2`);
    assert.deepEqual(JSON.parse(page.body.toString()).tags, ["a", "b"]);
    assert.equal(page.headers.link, '</v2/app/tags/tags/list?n=2&last=b>; rel="next"');
    const next = await raw(`${reg.url}/v2/app/tags/tags/list?n=2&last=b`);
    assert.deepEqual(JSON.parse(next.body.toString()).tags, ["c", "d"]);
    assert.equal(next.headers.link, undefined);
    const bad = await raw(`${reg.url}/v2/app/tags/tags/list?n=-1`);
    assert.equal(bad.status, 400);
    const cat = JSON.parse((await raw(`${reg.url}/v2/_catalog`)).body.toString()) as {
      repositories: string[];
    };
    assert.ok(cat.repositories.includes("app/tags"));
    assert.deepEqual([...cat.repositories].sort(), cat.repositories);
    const cat1 = await raw(`${reg.url}/v2/_catalog?n=1`);
    assert.equal(JSON.parse(cat1.body.toString()).repositories.length, 1);
    assert.match(String(cat1.headers.link), /rel="next"/);
  });

  test("bad requests get spec error codes", async () => {
    const d = await reg.putBlob("app/bad", pattern(64));
    const cases: Array<[string, RequestInit & { method?: string; body?: string }, number, string]> =
      [
        [`/v2/app/bad/blobs/sha256:xyz`, {}, 400, "DIGEST_INVALID"],
        [`/v2/app/bad/blobs/md5:d41d8cd98f00b204e9800998ecf8427e`, {}, 400, "DIGEST_INVALID"],
        [`/v2/nope/blobs/${d}`, {}, 404, "NAME_UNKNOWN"],
        [`/v2/nope/tags/list`, {}, 404, "NAME_UNKNOWN"],
        [`/v2/app/bad/blobs/${sha("absent")}`, {}, 404, "BLOB_UNKNOWN"],
        [`/v2/app/bad/manifests/latest`, {}, 404, "MANIFEST_UNKNOWN"],
        [`/v2/../../etc/blobs/${d}`, {}, 400, "NAME_INVALID"],
        [`/v2/app/%2e%2e/x/blobs/${d}`, {}, 400, "NAME_INVALID"],
        [`/v2/App/Bad/tags/list`, {}, 400, "NAME_INVALID"],
        [`/v2/app/bad/manifests/-bad-tag`, {}, 400, "TAG_INVALID"],
        [
          `/v2/app/bad/blobs/uploads/00000000-0000-0000-0000-000000000000`,
          { method: "PATCH", body: "x" },
          404,
          "BLOB_UPLOAD_UNKNOWN",
        ],
      ];
    for (const [path, init, status, code] of cases) {
      const r = await raw(reg.url + path, {
        method: init.method ?? "GET",
        ...(init.body ? { body: init.body } : {}),
      });
      assert.equal(r.status, status, `${path}: status`);
      assert.equal(errorCode(r.body), code, `${path}: code`);
    }
  });

  test("oversized uploads get 413 SIZE_INVALID (declared or streamed)", async () => {
    const big = pattern(5000);
    const mono = await raw(`${reg.url}/v2/app/big/blobs/uploads/?digest=${sha(big)}`, {
      method: "POST",
      body: big,
    });
    assert.equal(mono.status, 413);
    assert.equal(errorCode(mono.body), "SIZE_INVALID");
    const s = await raw(`${reg.url}/v2/app/big/blobs/uploads/`, { method: "POST" });
    const loc = String(s.headers.location);
    assert.equal(
      (await raw(reg.url + loc, { method: "PATCH", body: big.subarray(0, 3000) })).status,
      202,
    );
    const over = await raw(reg.url + loc, { method: "PATCH", body: big.subarray(3000) });
    assert.equal(over.status, 413);
    assert.equal((await raw(reg.url + loc, { method: "GET" })).status, 404, "session dropped");
  });

  test("malformed Range is Go's 416 'invalid range'", async () => {
    const d = await reg.putBlob("app/range", pattern(100));
    for (const h of ["bytes=5-2", "items=0-1", "bytes=x-", "bytes=--1", "bytes=0-1,zz"]) {
      const r = await raw(`${reg.url}/v2/app/range/blobs/${d}`, { headers: { Range: h } });
      assert.equal(r.status, 416, h);
      assert.equal(r.body.toString(), "invalid range\n", h);
      assert.equal(r.headers["content-range"], undefined, h);
    }
  });
});

describe("mock registry directory storage", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "mock-registry-dir-"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test("content survives a restart; failed uploads leave nothing behind", async () => {
    const data = pattern(10_000, 5);
    const reg = await startMockRegistry({ storage: { kind: "dir", root } });
    const digest = await reg.putBlob("persist/me", data);
    const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    await reg.putManifest("persist/me", "v1", body, OCI_INDEX);
    const bad = await raw(`${reg.url}/v2/persist/me/blobs/uploads/?digest=${sha("other")}`, {
      method: "POST",
      body: data.subarray(1),
    });
    assert.equal(bad.status, 400);
    await reg.close();
    assert.deepEqual(await readdir(join(root, "uploads")), []);
    const blobs = await readdir(join(root, "blobs", "sha256"));
    assert.deepEqual(blobs.sort(), [sha(body).slice(7), digest.slice(7)].sort());

    const again = await startMockRegistry({ storage: { kind: "dir", root } });
    try {
      const r = await raw(`${again.url}/v2/persist/me/blobs/${digest}`, {
        headers: { Range: "bytes=9990-" },
      });
      assert.equal(r.status, 206);
      assert.deepEqual(r.body, data.subarray(9990));
      const m = await raw(`${again.url}/v2/persist/me/manifests/v1`, {
        headers: { Accept: OCI_INDEX },
      });
      assert.equal(m.body.toString(), body);
      assert.deepEqual(JSON.parse((await raw(`${again.url}/v2/_catalog`)).body.toString()), {
        repositories: ["persist/me"],
      });
    } finally {
      await again.close();
    }
  });
});
