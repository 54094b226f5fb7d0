/** Turn an unsuccessful registry answer into a typed error that says what failed and why. */
import { NotFoundError, RateLimitedError, RegistryError, UnauthorizedError } from "./errors.js";
import { type HttpResponse, header } from "./http.js";
import { parseRetryAfter } from "./retry.js";

export interface ErrorBody {
  codes: string[];
  messages: string[];
}

/** Lenient error body parsing: `{"errors":[{code,message}]}`, `{"message":...}` or plain text. */
export function parseErrorBody(body: Buffer): ErrorBody {
  const text = body.toString("utf8").trim();
  const out: ErrorBody = { codes: [], messages: [] };
  if (!text) return out;
  try {
    const o = JSON.parse(text) as {
      errors?: Array<{ code?: unknown; message?: unknown }>;
      message?: unknown;
    };
    if (Array.isArray(o.errors)) {
      for (const e of o.errors) {
        if (typeof e?.code === "string") out.codes.push(e.code);
        if (typeof e?.message === "string" && e.message) out.messages.push(e.message);
      }
    } else if (typeof o.message === "string") out.messages.push(o.message);
    return out;
  } catch {
    out.messages.push(text.slice(0, 200));
    return out;
  }
}

/** Reads (a bounded part of) the body and builds the error for `subject` (e.g. `manifest docker.io/library/alpine:3`). */
export async function responseError(res: HttpResponse, subject: string): Promise<RegistryError> {
  let body: ErrorBody = { codes: [], messages: [] };
  try {
    body = parseErrorBody(await res.bytes(64 * 1024));
  } catch {
    // An unreadable error body still leaves the status to report.
  }
  const url = res.url.origin + res.url.pathname;
  const detail = [body.codes.join(","), body.messages.join("; ")].filter(Boolean).join(": ");
  const suffix = detail ? ` (${detail})` : "";
  switch (res.status) {
    case 401:
    case 403:
      return new UnauthorizedError(
        `${subject}: access denied, HTTP ${res.status}${suffix}${res.authTried ? `; sent ${res.authTried}` : ""}`,
        {
          status: res.status,
          url,
          registryCodes: body.codes,
        },
      );
    case 404:
      return new NotFoundError(subject, {
        url,
        registryCodes: body.codes,
        message: `${subject}: not found${suffix}`,
      });
    case 429: {
      const retryAfterMs = parseRetryAfter(header(res, "retry-after"));
      return new RateLimitedError(
        `${subject}: rate limited by ${res.url.host}${retryAfterMs !== undefined ? `, retry after ${Math.ceil(retryAfterMs / 1000)} s` : ""}${suffix}`,
        { url, retryAfterMs },
      );
    }
    default:
      return new RegistryError(`${subject}: HTTP ${res.status} from ${res.url.host}${suffix}`, {
        status: res.status,
        url,
        registryCodes: body.codes,
      });
  }
}
