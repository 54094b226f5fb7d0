/**
 * Raw failures from undici, node:net and OpenSSL turned into typed registry errors that name
 * the URL, carry a stable code and keep the original as `cause` (retry decisions read the
 * original's errno/undici code through the cause chain). Aborts by the caller pass through as
 * they are; an abort whose reason is a timeout (an overall deadline) becomes a TimeoutError.
 */
import { ChunkpullError } from "../errors.js";
import { NetworkError, ProtocolError, TimeoutError, TlsError } from "./errors.js";
import { isAbortError } from "./http.js";

const TIMEOUT_KINDS: Record<string, "connect" | "headers" | "idle"> = {
  UND_ERR_CONNECT_TIMEOUT: "connect",
  UND_ERR_HEADERS_TIMEOUT: "headers",
  UND_ERR_BODY_TIMEOUT: "idle",
};

const TIMEOUT_WORDS = {
  connect: "no connection within",
  headers: "no response headers within",
  idle: "the response body stalled for",
};

const CERT_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === "string" ? c : undefined;
}

/** The innermost non-wrapper error, for its code and message. */
function root(e: unknown): unknown {
  let cur = e;
  for (let i = 0; i < 8 && cur instanceof Error && cur.cause instanceof Error; i++) cur = cur.cause;
  return cur;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0]!.slice(0, 200);
}

/** Stall timeouts per kind, in ms, for messages. */
export interface TimeoutLimits {
  connectMs: number;
  headersMs: number;
  idleMs: number;
}

/**
 * Wrap `e` (thrown while sending `method` to or reading from `url`, a display URL) in a typed error. ChunkpullErrors and
 * plain aborts are returned unchanged.
 */
export function wrapTransportError(
  e: unknown,
  method: string,
  url: string,
  limits: TimeoutLimits,
  signal?: AbortSignal,
): unknown {
  if (e instanceof ChunkpullError) return e;
  const where = `${method} ${url}`;
  if (signal?.aborted && isTimeoutReason(signal.reason)) {
    return new TimeoutError(`${where}: the overall time limit ran out`, {
      url,
      kind: "total",
      cause: signal.reason,
    });
  }
  if (isAbortError(e)) return e;
  for (let cur: unknown = e; cur instanceof Error; cur = cur.cause) {
    const kind = TIMEOUT_KINDS[codeOf(cur) ?? ""];
    if (kind) {
      const ms = limits[`${kind}Ms`];
      return new TimeoutError(`${where}: ${TIMEOUT_WORDS[kind]} ${formatMs(ms)}`, {
        url,
        kind,
        cause: e,
      });
    }
  }
  const inner = root(e);
  const code = codeOf(inner) ?? codeOf(e) ?? "";
  const text = firstLine(inner);
  if (/wrong version number|packet length too long|ERR_SSL_.*RECORD/i.test(`${code} ${text}`)) {
    return new TlsError(
      `${where}: TLS handshake failed, the server does not speak TLS (a plain-HTTP registry? use --plain-http)`,
      { url, cause: e },
    );
  }
  if (CERT_CODES.has(code) || /certificate/i.test(text)) {
    return new TlsError(`${where}: TLS certificate not trusted: ${text}`, { url, cause: e });
  }
  if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || /SSL routines/.test(text)) {
    return new TlsError(`${where}: TLS handshake failed: ${text}`, { url, cause: e });
  }
  if (code.startsWith("HPE_") || /does not match the HTTP\/1\.1 protocol/.test(text)) {
    return new ProtocolError(`${where}: the server did not answer with HTTP (${text})`, {
      url,
      cause: e,
    });
  }
  const what = code && !text.includes(code) ? `${text} (${code})` : text;
  return new NetworkError(`${where}: ${what}`, { url, cause: e });
}

export function isTimeoutReason(reason: unknown): boolean {
  return reason instanceof Error && reason.name === "TimeoutError";
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
