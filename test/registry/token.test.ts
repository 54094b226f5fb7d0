import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FormatError } from "../../src/errors.js";
import { parseTokenResponse, TokenSource } from "../../src/registry/auth/token.js";
import type { HttpRequest, HttpResponse, Send } from "../../src/registry/http.js";

function reply(status: number, body: unknown, url: URL): HttpResponse {
  const buf = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  return {
    status,
    headers: {},
    url,
    redirected: false,
    body: (async function* () {
      yield buf;
    })(),
    bytes: async () => buf,
    dump: async () => {},
    abort: () => {},
  };
}

const challenge = {
  scheme: "bearer",
  params: { realm: "https://auth.example/token", service: "reg" },
};

describe("token responses", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("accepts token or access_token and floors lifetimes at 60 s", () => {
    assert.deepEqual(parseTokenResponse(Buffer.from('{"token":"a","expires_in":300}'), now), {
      token: "a",
      expiresAt: now + 300_000,
    });
    assert.equal(
      parseTokenResponse(Buffer.from('{"access_token":"b","expires_in":5}'), now).expiresAt,
      now + 60_000,
    );
    assert.equal(parseTokenResponse(Buffer.from('{"token":"c"}'), now).expiresAt, now + 60_000);
    const issued = parseTokenResponse(
      Buffer.from('{"token":"d","expires_in":120,"issued_at":"2025-12-31T23:59:30Z"}'),
      now,
    );
    assert.equal(issued.expiresAt, now + 90_000);
    assert.throws(() => parseTokenResponse(Buffer.from("{}"), now), FormatError);
    // Found by test/fuzz/auth.fuzz.test.ts: valid JSON that is not an object was a TypeError.
    for (const body of ["null", "3", "[]", '"token"'])
      assert.throws(() => parseTokenResponse(Buffer.from(body), now), FormatError);
  });

  it("makes ONE fetch for concurrent requests of a scope and refetches after expiry", async () => {
    let clock = 1_000_000;
    const seen: HttpRequest[] = [];
    const send: Send = async (req) => {
      seen.push(req);
      await new Promise((r) => setTimeout(r, 10));
      return reply(200, { token: `t${seen.length}`, expires_in: 1 }, req.url);
    };
    const src = new TokenSource(send, { now: () => clock });
    const req = {
      challenge,
      scopes: ["repository:a:pull"],
      credentials: { username: "u", password: "p" },
    };
    const tokens = await Promise.all(Array.from({ length: 10 }, () => src.get(req)));
    assert.deepEqual(new Set(tokens), new Set(["t1"]));
    assert.equal(seen.length, 1);
    const u = seen[0]!.url;
    assert.equal(u.searchParams.get("service"), "reg");
    assert.deepEqual(u.searchParams.getAll("scope"), ["repository:a:pull"]);
    assert.equal(u.searchParams.get("account"), "u");
    assert.equal(seen[0]!.headers.authorization, `Basic ${Buffer.from("u:p").toString("base64")}`);
    clock += 30_000; // inside the 60 s floor
    assert.equal(await src.get(req), "t1");
    clock += 40_000;
    assert.equal(await src.get(req), "t2");
    assert.equal(src.fetches, 2);
  });

  it("falls back from the OAuth2 POST to GET on 404/405/400/401", async () => {
    for (const status of [400, 401, 404, 405]) {
      const methods: string[] = [];
      const send: Send = async (req) => {
        methods.push(req.method);
        if (req.method === "POST") {
          assert.match(String(req.body), /grant_type=password/);
          return reply(status, "", req.url);
        }
        return reply(200, { access_token: "viaGet" }, req.url);
      };
      const src = new TokenSource(send, { oauth2: true });
      assert.equal(
        await src.get({ challenge, scopes: ["s"], credentials: { username: "u", password: "p" } }),
        "viaGet",
      );
      assert.deepEqual(methods, ["POST", "GET"]);
    }
  });

  it("uses the refresh token grant for identity tokens and reports refusals", async () => {
    const send: Send = async (req) => {
      assert.equal(req.method, "POST");
      assert.match(String(req.body), /grant_type=refresh_token&refresh_token=rt/);
      return reply(200, { token: "fromRefresh" }, req.url);
    };
    assert.equal(
      await new TokenSource(send).get({
        challenge,
        scopes: ["s"],
        credentials: { identityToken: "rt" },
      }),
      "fromRefresh",
    );
    const denied: Send = async (req) => reply(403, "", req.url);
    await assert.rejects(
      new TokenSource(denied).get({ challenge, scopes: ["s"] }),
      /token server https:\/\/auth\.example\/token answered HTTP 403.*anonymous/,
    );
  });
});
