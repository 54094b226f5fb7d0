/** tags/list and _catalog with `n`/`last` pagination and a `Link: <...>; rel="next"` header. */
import { sendError, sendJson } from "./http.js";
import type { Handling } from "./state.js";

/** Apply n/last; returns undefined (after answering 400) when n is not a non-negative integer. */
function paginate(
  h: Handling,
  all: string[],
  path: string,
): { items: string[]; link?: string } | undefined {
  const q = h.ctx.url.searchParams;
  const last = q.get("last");
  let items = last === null ? all : all.filter((x) => x > last);
  const nText = q.get("n");
  if (nText === null) return { items };
  if (!/^\d+$/.test(nText)) {
    sendError(h.ctx, 400, "PAGINATION_NUMBER_INVALID", "invalid number of results requested", {
      n: nText,
    });
    return undefined;
  }
  const n = Number(nText);
  if (items.length <= n) return { items };
  items = items.slice(0, n);
  if (n === 0) return { items };
  const next = new URLSearchParams({ n: String(n), last: items[items.length - 1]! });
  return { items, link: `<${path}?${next}>; rel="next"` };
}

export async function handleTags(h: Handling, repo: string): Promise<void> {
  const { ctx, state } = h;
  if (ctx.req.method !== "GET" && ctx.req.method !== "HEAD") {
    sendError(ctx, 405, "UNSUPPORTED", `method ${ctx.req.method} not allowed on tags`);
    return;
  }
  if (!(await state.storage.repoExists(repo))) {
    sendError(ctx, 404, "NAME_UNKNOWN", "repository name not known to registry", { name: repo });
    return;
  }
  const page = paginate(h, await state.storage.listTags(repo), `/v2/${repo}/tags/list`);
  if (!page) return;
  sendJson(ctx, 200, { name: repo, tags: page.items }, page.link ? { Link: page.link } : {});
}

export async function handleCatalog(h: Handling): Promise<void> {
  const { ctx, state } = h;
  if (ctx.req.method !== "GET" && ctx.req.method !== "HEAD") {
    sendError(ctx, 405, "UNSUPPORTED", `method ${ctx.req.method} not allowed on the catalog`);
    return;
  }
  const page = paginate(h, await state.storage.listRepos(), "/v2/_catalog");
  if (!page) return;
  sendJson(ctx, 200, { repositories: page.items }, page.link ? { Link: page.link } : {});
}
