/**
 * Bearer token exchange (distribution token.md / oauth.md) with a per-(realm, service, scope)
 * cache: lifetimes below 60 s count as 60 s, and concurrent requests for the same key share
 * ONE in-flight fetch so parallel layer downloads do not stampede the token server.
 */
import { FormatError } from "../../errors.js";
import { UnauthorizedError } from "../errors.js";
import type { Send } from "../http.js";
import type { Challenge } from "./challenge.js";
import type { Credentials } from "./credentials.js";

export const MIN_TOKEN_LIFETIME_S = 60;
const MAX_TOKEN_BODY = 128 * 1024;
const CLIENT_ID = "chunkpull";

export interface Token {
  token: string;
  /** ms since epoch after which the token must not be used. */
  expiresAt: number;
  refreshToken?: string;
}

export interface TokenRequest {
  challenge: Challenge;
  scopes: string[];
  credentials?: Credentials;
  signal?: AbortSignal;
}

/** Parse a token response body: `token` or `access_token`, `expires_in` (floored at 60 s), `issued_at`. */
export function parseTokenResponse(body: Buffer, now = Date.now()): Token {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new FormatError("token response: invalid JSON");
  }
  // `null`, a number or an array is valid JSON but no token response (found by fuzzing).
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new FormatError("token response: not a JSON object");
  const o = parsed as Record<string, unknown>;
  const token =
    typeof o.token === "string" && o.token
      ? o.token
      : typeof o.access_token === "string"
        ? o.access_token
        : "";
  if (!token) throw new FormatError('token response: neither "token" nor "access_token" is set');
  const expiresIn =
    typeof o.expires_in === "number" && o.expires_in > 0 ? o.expires_in : MIN_TOKEN_LIFETIME_S;
  let issued = now;
  if (typeof o.issued_at === "string") {
    const t = Date.parse(o.issued_at);
    // A token server clock far off ours would make the token look expired at once; trust ours then.
    if (!Number.isNaN(t) && Math.abs(t - now) < 3600_000) issued = t;
  }
  const out: Token = {
    token,
    expiresAt: issued + Math.max(expiresIn, MIN_TOKEN_LIFETIME_S) * 1000,
  };
  if (typeof o.refresh_token === "string") out.refreshToken = o.refresh_token;
  return out;
}

export interface TokenSourceOptions {
  /** Try the OAuth2 POST (grant_type=password) before GET when a password is known. */
  oauth2?: boolean;
  now?: () => number;
}

export class TokenSource {
  private readonly cache = new Map<string, Token>();
  private readonly inflight = new Map<string, Promise<Token>>();
  /** Number of token fetches performed (tests assert single-flight with it). */
  fetches = 0;

  constructor(
    private readonly send: Send,
    private readonly options: TokenSourceOptions = {},
  ) {}

  private key(r: TokenRequest): string {
    return `${r.challenge.params.realm} ${r.challenge.params.service ?? ""} ${[...r.scopes].sort().join(" ")}`;
  }

  /** A valid token for the request, from the cache or ONE shared fetch. */
  async get(r: TokenRequest): Promise<string> {
    const key = this.key(r);
    const now = (this.options.now ?? Date.now)();
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt - 5_000 > now) return cached.token;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetch(r).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const t = await p;
    this.cache.set(key, t);
    return t.token;
  }

  /** Forget the token for this request (the registry rejected it). */
  invalidate(r: TokenRequest): void {
    this.cache.delete(this.key(r));
  }

  private async fetch(r: TokenRequest): Promise<Token> {
    const realm = r.challenge.params.realm;
    if (!realm) throw new UnauthorizedError("bearer challenge without a realm");
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw new UnauthorizedError(`bearer challenge realm ${JSON.stringify(realm)} is not a URL`);
    }
    this.fetches++;
    const c = r.credentials;
    if (c?.identityToken || (this.options.oauth2 && c?.username && c.password)) {
      const viaPost = await this.post(realmUrl, r);
      if (viaPost) return viaPost;
    }
    return this.get_(realmUrl, r);
  }

  /** OAuth2 POST; undefined when the server does not do OAuth2 (400/401/404/405 -> use GET). */
  private async post(realm: URL, r: TokenRequest): Promise<Token | undefined> {
    const c = r.credentials!;
    const form = new URLSearchParams();
    if (c.identityToken) {
      form.set("grant_type", "refresh_token");
      form.set("refresh_token", c.identityToken);
    } else {
      form.set("grant_type", "password");
      form.set("username", c.username!);
      form.set("password", c.password!);
    }
    if (r.challenge.params.service) form.set("service", r.challenge.params.service);
    form.set("client_id", CLIENT_ID);
    form.set("scope", r.scopes.join(" "));
    const res = await this.send({
      method: "POST",
      url: realm,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
      signal: r.signal,
      // A 307/308 would replay the form (password or refresh token) to wherever it points.
      redirect: "manual",
    });
    if (res.status >= 300 && res.status < 400) {
      await res.dump();
      if (c.identityToken)
        throw new UnauthorizedError(
          `token server ${realm.origin} redirected the OAuth2 refresh-token POST; the token is not sent on`,
          { status: res.status, url: realm.origin + realm.pathname },
        );
      return undefined;
    }
    if (res.status === 200)
      return parseTokenResponse(await res.bytes(MAX_TOKEN_BODY), (this.options.now ?? Date.now)());
    await res.dump();
    if ([400, 401, 404, 405].includes(res.status) && !c.identityToken) return undefined;
    if ([404, 405].includes(res.status)) return undefined;
    throw new UnauthorizedError(
      `token server ${realm.origin} refused the OAuth2 refresh token (HTTP ${res.status})`,
      {
        status: res.status,
        url: realm.origin + realm.pathname,
      },
    );
  }

  private async get_(realm: URL, r: TokenRequest): Promise<Token> {
    const url = new URL(realm);
    if (r.challenge.params.service) url.searchParams.set("service", r.challenge.params.service);
    for (const s of r.scopes) url.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    const c = r.credentials;
    if (c?.username !== undefined && c.password !== undefined) {
      url.searchParams.set("account", c.username);
      headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
    }
    const res = await this.send({ method: "GET", url, headers, signal: r.signal });
    if (res.status !== 200) {
      await res.dump();
      throw new UnauthorizedError(
        `token server ${realm.origin}${realm.pathname} answered HTTP ${res.status} for ${r.scopes.join(" ") || "(no scope)"}${c ? ` with credentials from ${c.source ?? "the configuration"}${c.username ? ` (user ${JSON.stringify(c.username)})` : ""}` : " (anonymous)"}`,
        { status: res.status, url: realm.origin + realm.pathname },
      );
    }
    return parseTokenResponse(await res.bytes(MAX_TOKEN_BODY), (this.options.now ?? Date.now)());
  }
}
