/**
 * Redirect layer: follows 301/302/303/307/308 up to a limit. Credentials never cross origins:
 * `authorization` and `cookie` are dropped as soon as a hop leaves the original origin (S3 also
 * rejects a presigned URL that carries an Authorization header), and the scope is cleared so the
 * auth layer adds nothing for the storage host.
 */
import { RegistryError } from "./errors.js";
import { displayUrl, type HttpRequest, header, type Layer } from "./http.js";

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

export function redirectLayer(): Layer {
  return (next) => async (req) => {
    let current: HttpRequest = req;
    const seen = new Set<string>();
    for (let hop = 0; ; hop++) {
      const res = await next(current);
      if (!REDIRECT_STATUSES.has(res.status) || req.redirect === "manual") {
        if (hop > 0) return { ...res, redirected: true };
        return res;
      }
      const location = header(res, "location");
      await res.dump();
      if (!location) {
        throw new RegistryError(
          `${res.status} redirect from ${current.url.origin}${current.url.pathname} without a Location`,
          {
            status: res.status,
            url: displayUrl(current.url),
          },
        );
      }
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError(
          `too many redirects (> ${MAX_REDIRECTS}) starting at ${displayUrl(req.url)}`,
          { url: displayUrl(req.url) },
        );
      }
      const target = new URL(location, current.url);
      if (seen.has(target.href))
        throw new RegistryError(`redirect loop at ${target.origin}${target.pathname}`, {
          url: displayUrl(target),
        });
      seen.add(target.href);
      const headers = { ...current.headers };
      let scope = current.scope;
      if (target.origin !== req.url.origin) {
        delete headers.authorization;
        delete headers.cookie;
        scope = undefined;
      }
      let method = current.method;
      let body = current.body;
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
        delete headers["content-type"];
        delete headers["content-length"];
      }
      current = { ...current, url: target, headers, scope, method, body };
    }
  };
}
