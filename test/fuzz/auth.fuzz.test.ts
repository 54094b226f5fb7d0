/**
 * Fuzzing what a registry says about authentication: WWW-Authenticate challenges (which name
 * the token server credentials may go to), token responses, and auth files.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { parseChallenges } from "../../src/registry/auth/challenge.js";
import { parseAuthFile } from "../../src/registry/auth/credentials.js";
import { realmTrust } from "../../src/registry/auth/realm.js";
import { parseTokenResponse } from "../../src/registry/auth/token.js";
import { params, typedSync } from "./harness.js";

const TIMEOUT = { timeout: 120_000 };

describe("fuzz: authentication inputs", () => {
  test("WWW-Authenticate: never throws, scheme and params are strings", TIMEOUT, () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_.-]{0,8}$/);
    const quoted = fc.string({ maxLength: 20 }).map((s) => `"${s.replace(/"/g, '\\"')}"`);
    const param = fc
      .tuple(token, fc.oneof(token, quoted, fc.string({ maxLength: 10 })))
      .map(([k, v]) => `${k}=${v}`);
    const challenge = fc
      .tuple(
        fc.constantFrom("Bearer", "Basic", "bearer", "x", ""),
        fc.array(param, { maxLength: 4 }),
      )
      .map(([s, ps]) => `${s} ${ps.join(",")}`);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(challenge, { maxLength: 3 }).map((c) => c.join(", ")),
          fc.string({ maxLength: 80 }),
        ),
        (h) => {
          for (const c of parseChallenges(h)) {
            assert.equal(typeof c.scheme, "string");
            for (const [k, v] of Object.entries(c.params)) {
              assert.equal(typeof k, "string");
              assert.equal(typeof v, "string");
            }
            // Whatever the realm says, deciding its trust never throws.
            realmTrust(new URL("https://registry.example/v2/"), c.params.realm);
          }
        },
      ),
      params(),
    );
  });

  test("token responses and auth files fail typed", TIMEOUT, () => {
    const json = fc.oneof(
      fc.json(),
      fc.string({ maxLength: 60 }),
      fc
        .record(
          {
            token: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()),
            access_token: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(null)),
            expires_in: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 4 })),
            issued_at: fc.oneof(fc.string({ maxLength: 30 }), fc.integer()),
            auths: fc.oneof(
              fc.dictionary(
                fc.string({ maxLength: 10 }),
                fc.record({ auth: fc.base64String({ maxLength: 16 }) }),
              ),
              fc.integer(),
            ),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(json, (text) => {
        typedSync("parseTokenResponse", () => parseTokenResponse(Buffer.from(text)));
        typedSync("parseAuthFile", () => parseAuthFile(text, "fuzz.json"));
      }),
      params(),
    );
  });
});
