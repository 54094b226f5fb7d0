/**
 * Registry failures in the user's terms. Each carries what the user needs to act: the URL or
 * name involved, the HTTP status, and the registry's own error codes when it sent any.
 */
import { ChunkpullError, DigestMismatchError } from "../errors.js";

export { PlatformNotFoundError } from "../oci/platform.js";
export { DigestMismatchError };

/** A registry answered with a status we cannot turn into anything more specific. */
export class RegistryError extends ChunkpullError {
  readonly status: number | undefined;
  readonly url: string | undefined;
  /** Error codes from the body's `errors[].code` (e.g. MANIFEST_UNKNOWN). */
  readonly registryCodes: string[];
  constructor(
    message: string,
    details: {
      status?: number;
      url?: string;
      registryCodes?: string[];
      code?: string;
      cause?: unknown;
    } = {},
  ) {
    super(details.code ?? "EREGISTRY", message, { cause: details.cause });
    this.status = details.status;
    this.url = details.url;
    this.registryCodes = details.registryCodes ?? [];
  }
}

/** 401/403 after authenticating (or with no usable credentials). */
export class UnauthorizedError extends RegistryError {
  constructor(
    message: string,
    details: { status?: number; url?: string; registryCodes?: string[] } = {},
  ) {
    super(message, { ...details, code: "EUNAUTHORIZED" });
  }
}

/** 404: the repository, tag, manifest or blob does not exist (or is not visible to us). */
export class NotFoundError extends RegistryError {
  /** What was looked up: `docker.io/library/alpine:3.19`, `blob sha256:...`. */
  readonly subject: string;
  constructor(
    subject: string,
    details: { url?: string; registryCodes?: string[]; message?: string } = {},
  ) {
    super(details.message ?? `${subject}: not found`, {
      ...details,
      status: 404,
      code: "ENOTFOUND",
    });
    this.subject = subject;
  }
}

/** 429 that outlived our retries. */
export class RateLimitedError extends RegistryError {
  /** Seconds the registry asked us to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, details: { url?: string; retryAfterMs?: number } = {}) {
    super(message, { ...details, status: 429, code: "ERATELIMIT" });
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The requested byte ranges are not valid for the blob (out of bounds, unsorted, overlapping), or the server says 416 for in-bounds ranges. */
export class RangeNotSatisfiableError extends ChunkpullError {
  constructor(message: string) {
    super("ERANGE", message);
  }
}

/** The server's range response did not deliver the bytes asked for (bad Content-Range, missing parts). */
export class RangeResponseError extends RegistryError {
  constructor(message: string, details: { status?: number; url?: string; cause?: unknown } = {}) {
    super(message, { ...details, code: "ERANGERESPONSE" });
  }
}

/** Network failure (connection reset, DNS, refused) that outlived our retries. */
export class NetworkError extends RegistryError {
  constructor(message: string, details: { url?: string; cause?: unknown; code?: string } = {}) {
    super(message, { ...details, code: details.code ?? "ENETWORK" });
  }
}

/** Which deadline ran out: see `TimeoutOptions` (src/registry/timeouts.ts). */
export type TimeoutKind = "connect" | "headers" | "idle" | "throughput" | "total";

/**
 * A deadline ran out: the server did not connect, answer or keep sending in time, sent too
 * slowly, or the whole operation outlived its overall limit.
 */
export class TimeoutError extends NetworkError {
  readonly kind: TimeoutKind;
  constructor(message: string, details: { url?: string; cause?: unknown; kind: TimeoutKind }) {
    super(message, { ...details, code: "ETIMEOUT" });
    this.kind = details.kind;
  }
}

/** The TLS handshake failed (often: https:// to a plain-HTTP registry, or an untrusted certificate). */
export class TlsError extends NetworkError {
  constructor(message: string, details: { url?: string; cause?: unknown } = {}) {
    super(message, { ...details, code: "ETLS" });
  }
}

/** The server does not speak HTTP (a wrong port, another protocol). */
export class ProtocolError extends NetworkError {
  constructor(message: string, details: { url?: string; cause?: unknown } = {}) {
    super(message, { ...details, code: "EPROTOCOL" });
  }
}

/**
 * Range requests for a blob kept failing while the blob itself may still be served in full:
 * the typed signal for the pull engine to fall back to a full (resumable) download. A subclass
 * of RangeResponseError, so callers that fall back on range failures already handle it.
 */
export class RangesFailedError extends RangeResponseError {
  constructor(message: string, details: { url?: string; cause?: unknown } = {}) {
    super(message, details);
  }
}
