/**
 * The `/_mock/` admin endpoints: stats and modes at run time, for tests and the demo driving a
 * registry in another process. Never recorded in stats and never affected by modes.
 */
import { endWith, type RequestContext, sendJson } from "./http.js";
import { copyModes, type ModeTable } from "./modes.js";
import type { StatsRecorder } from "./stats.js";

async function readJson(ctx: RequestContext): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
}

export async function handleAdmin(
  ctx: RequestContext,
  modes: ModeTable,
  stats: StatsRecorder,
): Promise<void> {
  const path = ctx.url.pathname;
  const method = ctx.req.method;
  if (path === "/_mock/stats" && method === "GET") return sendJson(ctx, 200, stats.snapshot());
  if (path === "/_mock/stats/reset" && method === "POST") {
    stats.reset();
    ctx.res.writeHead(204);
    return endWith(ctx, Buffer.alloc(0));
  }
  const m = /^\/_mock\/modes(?:\/(.+))?$/.exec(path);
  if (m) {
    const repo = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    if (method === "GET") return sendJson(ctx, 200, modes.snapshot());
    if (method === "PUT" || method === "POST") {
      try {
        modes.set(copyModes(await readJson(ctx)), repo);
      } catch (e) {
        return sendJson(ctx, 400, { error: (e as Error).message });
      }
      return sendJson(ctx, 200, modes.snapshot());
    }
    if (method === "DELETE") {
      modes.clear(repo);
      return sendJson(ctx, 200, modes.snapshot());
    }
  }
  sendJson(ctx, 404, { error: `no admin endpoint ${method} ${path}` });
}
