/**
 * Auth layer: pings `/v2/` once per origin to learn its challenge, then adds Basic or Bearer
 * credentials to every request that carries a scope. On a 401 it re-reads the challenge (or
 * falls back to the ping's when the 401 has none, as gcr.io and Docker Hardened Images do),
 * drops the cached token and retries once. Requests without a scope (token server, storage
 * URLs) never get credentials. Credentials stay with their origin (docs/security.md): the
 * registry's go to the registry and to its own token server only; redirect targets and token
 * realms on other hosts get what the configuration names for them (`configuredFor`), if anything.
 */
import { type HttpRequest, type HttpResponse, headerList, type Layer, type Send } from "../http.js";
import { type Challenge, parseChallenges } from "./challenge.js";
import type { CredentialStore, Credentials } from "./credentials.js";
import { realmHost, realmTrust } from "./realm.js";
import type { TokenRequest, TokenSource } from "./token.js";

interface ForeignTarget {
  challenge: Challenge;
  scopes: string[];
}

interface OriginState {
  challenges: Challenge[];
}

function usable(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === "bearer" || c.scheme === "basic");
}

function repositoryOfScope(scope: string): string | undefined {
  const m = /^repository(?:\([^)]*\))?:(.+):[^:]*$/.exec(scope);
  return m?.[1];
}

export class Authenticator {
  private readonly origins = new Map<string, Promise<OriginState>>();
  /** Challenges learned from redirect targets on other origins (storage hosts with their own auth). */
  private readonly foreign = new Map<string, ForeignTarget>();

  constructor(
    /** The stack below auth (redirect -> retry -> transport), also used for pings. */
    private readonly send: Send,
    private readonly credentials: CredentialStore,
    private readonly tokens: TokenSource,
  ) {}

  /** GET /v2/ once per origin; remembers the challenges a 401 carries. */
  ping(origin: string, signal?: AbortSignal): Promise<OriginState> {
    let p = this.origins.get(origin);
    if (!p) {
      p = (async () => {
        const res = await this.send({
          method: "GET",
          url: new URL("/v2/", origin),
          headers: {},
          signal,
        });
        await res.dump();
        if (res.status === 401)
          return { challenges: parseChallenges(headerList(res, "www-authenticate")) };
        return { challenges: [] };
      })();
      // A failed ping (network) must not poison the origin for later attempts.
      p.catch(() => this.origins.delete(origin));
      this.origins.set(origin, p);
    }
    return p;
  }

  /**
   * The Authorization value for a request to `url` answering `challenge`. `creds` belong to
   * `url`'s host: Basic sends them there; a Bearer realm gets them only when it is that host's
   * own token server (see realm.ts), otherwise only what is configured for the realm's host.
   */
  private async authorization(
    url: URL,
    challenge: Challenge,
    scopes: string[],
    creds: Credentials | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    if (challenge.scheme === "basic") {
      if (creds?.username === undefined || creds.password === undefined) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}`;
    }
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const realm = challenge.params.realm;
    const trust = realmTrust(url, realm);
    let realmCreds: Credentials | undefined;
    if (trust === "home") realmCreds = creds;
    else if (trust === "foreign") {
      const host = realmHost(realm);
      realmCreds = host ? await this.credentials.configuredFor(host) : undefined;
    }
    const token = await this.tokens.get({ challenge, scopes, credentials: realmCreds, signal });
    return `Bearer ${token}`;
  }

  /**
   * A redirect target on another origin challenged us (ggcr PR #2360): authenticate against
   * ITS challenge with credentials configured for ITS host only (usually none: anonymous token),
   * and ask it directly.
   */
  private async authenticateElsewhere(
    res: HttpResponse,
    req: HttpRequest,
    next: Send,
    sentToken: boolean,
  ): Promise<HttpResponse> {
    const challenge = usable(parseChallenges(headerList(res, "www-authenticate")));
    if (!challenge) return res;
    const scope = challenge.params.scope ?? req.scope ?? req.targetScope;
    const target: ForeignTarget = { challenge, scopes: scope ? scope.split(" ") : [] };
    const known = this.foreign.get(res.url.origin);
    // The token we sent was refused: forget it before asking again.
    if (sentToken && known?.challenge.scheme === "bearer")
      this.tokens.invalidate({ challenge: known.challenge, scopes: known.scopes });
    this.foreign.set(res.url.origin, target);
    // Only what the configuration names for this host: never the registry's own credentials.
    const creds = await this.credentials.configuredFor(res.url.host);
    const value = await this.authorization(res.url, challenge, target.scopes, creds, req.signal);
    if (!value) return res;
    await res.dump();
    const headers = { ...req.headers, authorization: value };
    const retried = await next({ ...req, url: res.url, headers, scope: undefined });
    // Still the answer of a redirect, so callers may cache the target URL.
    return { ...retried, redirected: res.redirected || retried.redirected };
  }

  /** A request straight to a known redirect target (a cached storage URL). */
  private async sendToTarget(req: HttpRequest, next: Send): Promise<HttpResponse> {
    const known = this.foreign.get(req.url.origin);
    let r = req;
    if (known) {
      const creds = await this.credentials.configuredFor(req.url.host);
      const value = await this.authorization(
        req.url,
        known.challenge,
        known.scopes,
        creds,
        req.signal,
      );
      if (value) r = { ...req, headers: { ...req.headers, authorization: value } };
    }
    const res = await next(r);
    if (res.status !== 401 || res.url.origin !== req.url.origin) return res;
    return this.authenticateElsewhere(res, req, next, r !== req);
  }

  layer(): Layer {
    return (next) => async (req) => {
      if (!req.scope) return req.targetScope ? this.sendToTarget(req, next) : next(req);
      const origin = req.url.origin;
      const state = await this.ping(origin, req.signal);
      const repo = repositoryOfScope(req.scope);
      const creds = await this.credentials.get(req.url.host, repo);
      let scopes = [req.scope];
      let challenge = usable(state.challenges);
      const attempt = async (c: Challenge | undefined): Promise<HttpResponse> => {
        if (!c) return next(req);
        const value = await this.authorization(req.url, c, scopes, creds, req.signal);
        const r: HttpRequest = value
          ? { ...req, headers: { ...req.headers, authorization: value } }
          : req;
        return next(r);
      };
      // A refusal says what we sent: "wrong credentials" and "no credentials" need different fixes.
      const tried = async (r: HttpResponse): Promise<HttpResponse> => {
        if (r.status !== 401 && r.status !== 403) return r;
        const who = creds?.username ? ` (user ${JSON.stringify(creds.username)})` : "";
        r.authTried = creds
          ? `credentials from ${creds.source ?? "the configuration"}${who}`
          : await this.credentials.describeMiss(req.url.host);
        return r;
      };
      const first = await attempt(challenge);
      // Some registries say insufficient_scope with 403 instead of 401: same remedy.
      const insufficient403 =
        first.status === 403 &&
        usable(parseChallenges(headerList(first, "www-authenticate")))?.params.error ===
          "insufficient_scope";
      if (first.status !== 401 && !insufficient403) return tried(first);
      // A 401 from a redirect target (another origin) is not ours to answer with this
      // registry's credentials or challenge state: that host gets its own.
      if (first.url.origin !== origin) return this.authenticateElsewhere(first, req, next, false);

      const fresh = parseChallenges(headerList(first, "www-authenticate"));
      const freshUsable = usable(fresh);
      if (freshUsable) {
        state.challenges = fresh;
        const extra = freshUsable.params.scope;
        // insufficient_scope names the scope it wants; ask for it first (some servers read only one).
        if (extra && freshUsable.params.error === "insufficient_scope" && !scopes.includes(extra))
          scopes = [extra, ...scopes];
      }
      if (challenge?.scheme === "bearer") {
        this.tokens.invalidate({ challenge, scopes: [req.scope] } satisfies TokenRequest);
      }
      challenge = freshUsable ?? challenge;
      if (!challenge) return tried(first);
      if (
        challenge.scheme === "basic" &&
        (creds?.username === undefined || creds.password === undefined)
      )
        return tried(first);
      await first.dump();
      return tried(await attempt(challenge));
    };
  }
}
