/**
 * Authentication and authorisation: none, Basic (htpasswd style) and Bearer tokens issued by a
 * token server on the same origin (`/token`, docs/content/spec/auth/token.md of distribution).
 * Tokens are HMAC-signed JSON, so expiry and scopes are checked without server state.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { AccessRule, AuthOptions } from "./types.js";

export type Action = "pull" | "push" | "delete";

/** What a request needs: the ping needs any valid identity; others name repo actions. */
export type Need =
  | { kind: "ping" }
  | { kind: "catalog" }
  | { kind: "repo"; repo: string; actions: Action[] };

export type AuthDecision =
  | { ok: true; user: string | null; grants: Grant[] }
  | {
      ok: false;
      status: 401 | 403;
      code: string;
      message: string;
      headers: Record<string, string>;
      detail?: unknown;
    };

export interface Grant {
  type: string;
  name: string;
  actions: string[];
}

interface TokenPayload {
  sub: string | null;
  access: Grant[];
  /** Expiry, ms since epoch. */
  exp: number;
  kind: "access" | "refresh";
  jti: string;
}

export const SERVICE = "mock-registry";

export function parseBasic(
  header: string | undefined,
): { user: string; password: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `repository:name:actions`; the name may contain ':' (host:port prefix), so split at the ends. */
export function parseScope(scope: string): Grant | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first < 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first).replace(/\(.*\)$/, ""),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(",")
      .filter(Boolean),
  };
}

function repoMatches(pattern: string, repo: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith("/*")) return repo.startsWith(pattern.slice(0, -1));
  return pattern === repo;
}

export class Authenticator {
  readonly options: AuthOptions;
  readonly #secret = randomBytes(32);
  /** Set by the server once it listens: the realm is an absolute URL. */
  realm = "";

  constructor(options: AuthOptions = { kind: "none" }) {
    this.options = options;
  }

  get kind(): AuthOptions["kind"] {
    return this.options.kind;
  }

  checkUser(user: string, password: string): boolean {
    const o = this.options;
    if (o.kind === "none") return false;
    const expected = o.users?.[user];
    return expected !== undefined && safeEqual(expected, password);
  }

  /** Actions `user` (null = anonymous) may perform on `repo`. */
  allowed(user: string | null, repo: string): Set<string> {
    const o = this.options;
    if (o.kind !== "bearer") return new Set(["pull", "push", "delete"]);
    const out = new Set<string>();
    if (o.access) {
      for (const rule of o.access as AccessRule[]) {
        const who =
          rule.user === user ||
          (rule.user === "*" && user !== null) ||
          (rule.user === "anonymous" && user === null);
        if (who && repoMatches(rule.repo, repo)) for (const a of rule.actions) out.add(a);
      }
      return out;
    }
    if (user !== null) return new Set(["pull", "push", "delete"]);
    if (o.anonymousPull !== false) out.add("pull");
    return out;
  }

  sign(payload: TokenPayload): string {
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    const mac = createHmac("sha256", this.#secret).update(body).digest("base64url");
    return `${body}.${mac}`;
  }

  verify(token: string, kind: TokenPayload["kind"] = "access"): TokenPayload | undefined {
    const dot = token.indexOf(".");
    if (dot < 0) return undefined;
    const body = token.slice(0, dot);
    const mac = createHmac("sha256", this.#secret).update(body).digest("base64url");
    if (!safeEqual(mac, token.slice(dot + 1))) return undefined;
    try {
      const p = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as TokenPayload;
      if (p.kind !== kind || p.exp <= Date.now()) return undefined;
      return p;
    } catch {
      return undefined;
    }
  }

  /** Grant what was asked and is allowed (intersection; partial grants are not errors). */
  grant(user: string | null, scopes: string[]): Grant[] {
    const grants: Grant[] = [];
    for (const s of scopes) {
      const g = parseScope(s);
      if (!g) continue;
      if (g.type === "registry" && g.name === "catalog") {
        if (user !== null) grants.push({ type: "registry", name: "catalog", actions: ["*"] });
        continue;
      }
      if (g.type !== "repository") continue;
      const allowed = this.allowed(user, g.name);
      const actions = g.actions.includes("*")
        ? [...allowed]
        : g.actions.filter((a) => allowed.has(a));
      if (actions.length > 0) grants.push({ type: "repository", name: g.name, actions });
    }
    return grants;
  }

  issue(user: string | null, grants: Grant[], kind: TokenPayload["kind"] = "access"): string {
    const o = this.options;
    const ttl = o.kind === "bearer" ? (o.tokenTtlSeconds ?? 300) : 300;
    return this.sign({
      sub: user,
      access: grants,
      exp: Date.now() + (kind === "refresh" ? 86_400 : ttl) * 1000,
      kind,
      jti: randomBytes(8).toString("hex"),
    });
  }

  #scopeOf(need: Need): string | undefined {
    if (need.kind === "ping") return undefined;
    if (need.kind === "catalog") return "registry:catalog:*";
    // distribution asks for pull,push on writes (what a pusher's token must cover).
    const actions = need.actions.includes("push") ? ["pull", "push"] : need.actions;
    return `repository:${need.repo}:${actions.join(",")}`;
  }

  #challenge(need: Need, error?: string): Record<string, string> {
    const o = this.options;
    if (o.kind === "basic") return { "WWW-Authenticate": `Basic realm="${SERVICE}"` };
    if (o.kind !== "bearer") return {};
    if (o.noChallenge && need.kind !== "ping") return {};
    let value = `Bearer realm="${this.realm}",service="${SERVICE}"`;
    const scope = this.#scopeOf(need);
    if (scope) value += `,scope="${scope}"`;
    if (error) value += `,error="${error}"`;
    return { "WWW-Authenticate": value };
  }

  #denied(need: Need, error?: string): AuthDecision {
    const detail =
      need.kind === "repo"
        ? need.actions.map((a) => ({ Type: "repository", Class: "", Name: need.repo, Action: a }))
        : undefined;
    return {
      ok: false,
      status: 401,
      code: "UNAUTHORIZED",
      message: "authentication required",
      headers: this.#challenge(need, error),
      detail,
    };
  }

  authorize(req: IncomingMessage, need: Need): AuthDecision {
    const o = this.options;
    const header = req.headers.authorization;
    if (o.kind === "none") return { ok: true, user: null, grants: [] };
    if (o.kind === "basic") {
      const creds = parseBasic(header);
      if (!creds || !this.checkUser(creds.user, creds.password)) return this.#denied(need);
      return { ok: true, user: creds.user, grants: [] };
    }
    if (!header || !/^bearer /i.test(header)) return this.#denied(need);
    const token = this.verify(header.slice(7).trim());
    if (!token) return this.#denied(need, "invalid_token");
    if (need.kind === "ping") return { ok: true, user: token.sub, grants: token.access };
    const has = (type: string, name: string, action: string) =>
      token.access.some(
        (g) =>
          g.type === type &&
          g.name === name &&
          (g.actions.includes(action) || g.actions.includes("*")),
      );
    const ok =
      need.kind === "catalog"
        ? has("registry", "catalog", "*")
        : need.actions.every((a) => has("repository", need.repo, a));
    if (ok) return { ok: true, user: token.sub, grants: token.access };
    if (o.insufficientScopeStatus === 403) {
      return {
        ok: false,
        status: 403,
        code: "DENIED",
        message: "requested access to the resource is denied",
        headers: {},
      };
    }
    return this.#denied(need, "insufficient_scope");
  }

  /** Whether a decision's grants cover `action` on `repo` (used for cross-repo mounts). */
  canAccess(decision: AuthDecision, repo: string, action: Action): boolean {
    if (!decision.ok) return false;
    if (this.options.kind !== "bearer") return true;
    return decision.grants.some(
      (g) => g.type === "repository" && g.name === repo && g.actions.includes(action),
    );
  }
}
