/**
 * The token server (`GET /token` and the OAuth2 `POST /token`) of the bearer auth mode.
 * Response fields follow token.md: `token` and/or `access_token`, `expires_in`, `issued_at`,
 * `refresh_token` when offline access was asked for with credentials.
 */
import { type Authenticator, parseBasic, SERVICE } from "./auth.js";
import { type RequestContext, sendError, sendJson } from "./http.js";

const MAX_FORM_BYTES = 64 * 1024;

async function readForm(ctx: RequestContext): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req) {
    size += (c as Buffer).length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(c as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function tokenResponse(
  auth: Authenticator,
  user: string | null,
  scopes: string[],
  offline: boolean,
  oauth: boolean,
): Record<string, unknown> {
  const o = auth.options;
  if (o.kind !== "bearer") throw new Error("token server needs bearer auth");
  const token = auth.issue(user, auth.grant(user, scopes));
  const field = o.tokenField ?? "token";
  const body: Record<string, unknown> = {};
  if (field === "token" || field === "both") body["token"] = token;
  if (field === "access_token" || field === "both" || oauth) body["access_token"] = token;
  if (!o.omitExpiresIn) body["expires_in"] = o.tokenTtlSeconds ?? 300;
  if (o.issuedAt !== false) body["issued_at"] = new Date().toISOString();
  if (offline && user !== null) body["refresh_token"] = auth.issue(user, [], "refresh");
  return body;
}

function splitScopes(values: string[]): string[] {
  return values.flatMap((v) => v.split(" ")).filter(Boolean);
}

export async function handleToken(ctx: RequestContext, auth: Authenticator): Promise<void> {
  const o = auth.options;
  if (o.kind !== "bearer") {
    sendError(ctx, 404, "UNSUPPORTED", "no token server: auth mode is not bearer");
    return;
  }
  const q = ctx.url.searchParams;
  if (ctx.req.method === "GET") {
    let user: string | null = null;
    const creds = parseBasic(ctx.req.headers.authorization);
    if (ctx.req.headers.authorization !== undefined) {
      if (!creds || !auth.checkUser(creds.user, creds.password)) {
        sendError(ctx, 401, "UNAUTHORIZED", "invalid username or password", undefined, {
          "WWW-Authenticate": `Basic realm="${SERVICE}"`,
        });
        return;
      }
      user = creds.user;
    }
    const scopes = splitScopes(q.getAll("scope"));
    sendJson(ctx, 200, tokenResponse(auth, user, scopes, q.get("offline_token") === "true", false));
    return;
  }
  if (ctx.req.method === "POST") {
    const mode = o.oauthPost ?? "ok";
    if (mode !== "ok") {
      sendJson(ctx, mode, {
        error: "unsupported",
        error_description: `POST answered ${mode} by mode`,
      });
      return;
    }
    const form = await readForm(ctx);
    if (!form) {
      sendJson(ctx, 400, { error: "invalid_request", error_description: "form too large" });
      return;
    }
    let user: string | null;
    const grant = form.get("grant_type");
    if (grant === "password") {
      const name = form.get("username") ?? "";
      if (!auth.checkUser(name, form.get("password") ?? "")) {
        sendJson(ctx, 401, { error: "invalid_grant", error_description: "bad credentials" });
        return;
      }
      user = name;
    } else if (grant === "refresh_token") {
      const refresh = auth.verify(form.get("refresh_token") ?? "", "refresh");
      if (!refresh) {
        sendJson(ctx, 401, { error: "invalid_grant", error_description: "bad refresh token" });
        return;
      }
      user = refresh.sub;
    } else {
      sendJson(ctx, 400, { error: "unsupported_grant_type", error_description: String(grant) });
      return;
    }
    const scopes = splitScopes(form.getAll("scope"));
    sendJson(
      ctx,
      200,
      tokenResponse(auth, user, scopes, form.get("access_type") === "offline", true),
    );
    return;
  }
  sendError(ctx, 405, "UNSUPPORTED", `method ${ctx.req.method} not allowed on the token endpoint`);
}
