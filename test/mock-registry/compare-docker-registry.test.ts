/**
 * Range answers of the mock compared with the real distribution registry (Debian docker-registry)
 * byte for byte, except the multipart boundary and the Date header.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type MockRegistry, startMockRegistry } from "../../mock-registry/src/index.js";
import { type DockerRegistry, startDockerRegistry, toolSkip } from "../helpers/docker-registry.js";
import { pattern, type RawResponse, raw } from "./client.js";

const skip = toolSkip(["docker-registry"]);
const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Push through the HTTP API the way distribution 2.8 accepts it (POST session, then PUT). */
async function push(url: string, repo: string, data: Buffer): Promise<void> {
  const s = await raw(`${url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  assert.equal(s.status, 202);
  const loc = new URL(String(s.headers.location), url);
  loc.searchParams.set("digest", sha(data));
  const put = await raw(loc.toString(), {
    method: "PUT",
    body: data,
    headers: { "Content-Type": "application/octet-stream" },
  });
  assert.equal(put.status, 201, put.body.toString());
}

const IGNORED = new Set(["date", "connection", "keep-alive", "transfer-encoding"]);

/** The answer with Date/connection headers dropped and the boundary replaced by a constant. */
function normalise(r: RawResponse) {
  const ct = String(r.headers["content-type"] ?? "");
  const boundary = /boundary=([^;]+)/.exec(ct)?.[1];
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) {
    if (IGNORED.has(k) || v === undefined) continue;
    headers[k] = String(v);
  }
  let body = r.body.toString("latin1");
  if (boundary) {
    headers["content-type"] = ct.replace(boundary, "BOUNDARY");
    body = body.split(boundary).join("BOUNDARY");
    assert.match(boundary, /^[0-9a-f]{60}$/);
  }
  return { status: r.status, headers, body, truncated: r.error !== undefined };
}

const RANGES = [
  "bytes=0-9",
  "bytes=100-199",
  "bytes=0-0",
  "bytes=999-999",
  "bytes=0-9,20-29,500-599",
  "bytes=500-599,0-9",
  "bytes=0-99,50-149",
  "bytes=0-9,0-9",
  "bytes=-100",
  "bytes=-0",
  "bytes=-5000",
  "bytes=900-",
  "bytes=990-2000",
  "bytes=1000-",
  "bytes=5000-6000,7000-",
  "bytes=0-9,5000-",
  "bytes=0-999,0-9",
  "bytes=0-,0-",
  "bytes=0-600,300-800",
  "bytes=5-2",
  "items=0-1",
  "bytes=",
  "bytes=,",
  "bytes= 0-9 , 20-29",
  "bytes=0-9,",
  "bytes=+1-5",
  "bytes=1-+5",
  "bytes=-",
  "bytes=9223372036854775808-",
];

describe("range answers match docker-registry byte for byte", { skip }, () => {
  let real: DockerRegistry;
  let mock: MockRegistry;
  const blob = pattern(1000, 42);
  const empty = Buffer.alloc(0);
  before(async () => {
    real = await startDockerRegistry();
    mock = await startMockRegistry();
    for (const url of [real.url, mock.url]) {
      await push(url, "cmp/blob", blob);
      await push(url, "cmp/blob", empty);
    }
  });
  after(async () => {
    await real?.close();
    await mock?.close();
  });

  async function compare(path: string, headers: Record<string, string>, method = "GET") {
    const [a, b] = await Promise.all([
      raw(real.url + path, { method, headers }),
      raw(mock.url + path, { method, headers }),
    ]);
    const label = `${method} ${path} ${JSON.stringify(headers)}`;
    assert.deepEqual(normalise(b), normalise(a), label);
    return a;
  }

  for (const range of RANGES) {
    test(`GET and HEAD with Range: ${range}`, async () => {
      const path = `/v2/cmp/blob/blobs/${sha(blob)}`;
      await compare(path, { Range: range });
      await compare(path, { Range: range }, "HEAD");
    });
  }

  test("the multi-range answer really is multipart (sanity of the comparison)", async () => {
    const a = await compare(`/v2/cmp/blob/blobs/${sha(blob)}`, { Range: "bytes=0-9,20-29" });
    assert.equal(a.status, 206);
    assert.match(String(a.headers["content-type"]), /^multipart\/byteranges; boundary=/);
  });

  test("zero-length blob: ranges give 416 with Content-Length 0 (Go 1.19, no empty-content exception)", async () => {
    for (const range of ["bytes=0-9", "bytes=5-", "bytes=-1", "bytes=0-0,1-1"]) {
      await compare(`/v2/cmp/blob/blobs/${sha(empty)}`, { Range: range });
    }
  });

  test("startDockerRegistry with htpasswd: 401 without credentials, 200 with them", async () => {
    const secured = await startDockerRegistry({ htpasswd: { user: "alice", password: "pw" } });
    try {
      const no = await raw(`${secured.url}/v2/`);
      assert.equal(no.status, 401);
      assert.match(String(no.headers["www-authenticate"]), /^Basic realm=/);
      const auth = `Basic ${Buffer.from("alice:pw").toString("base64")}`;
      assert.equal(
        (await raw(`${secured.url}/v2/`, { headers: { Authorization: auth } })).status,
        200,
      );
    } finally {
      await secured.close();
    }
  });

  test("no Range, If-Range with matching and stale ETag, If-None-Match", async () => {
    const path = `/v2/cmp/blob/blobs/${sha(blob)}`;
    await compare(path, {});
    await compare(path, { Range: "bytes=0-9", "If-Range": `"${sha(blob)}"` });
    await compare(path, { Range: "bytes=0-9", "If-Range": '"sha256:stale"' });
    await compare(path, { Range: "bytes=0-9", "If-Range": "Wed, 21 Oct 2015 07:28:00 GMT" });
    await compare(path, { "If-None-Match": `"${sha(blob)}"` });
  });
});
