/**
 * One error class per failure a user (or a calling deploy tool) must tell apart.
 * Every error carries a stable `code` so callers can branch without string matching.
 */
export class ChunkpullError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Malformed or hostile input in a layer format (TOC, tar-split, footer, tar, gzip/zstd frame). */
export class FormatError extends ChunkpullError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EFORMAT", message, options);
  }
}

/** Bytes did not hash to the digest that vouches for them. */
export class DigestMismatchError extends ChunkpullError {
  readonly expected: string;
  readonly actual: string;
  readonly subject: string;
  constructor(subject: string, expected: string, actual: string) {
    super("EDIGEST", `digest mismatch for ${subject}: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
    this.subject = subject;
  }
}

/** Metadata (TOC, tar-split, manifest) larger than the limit we accept. */
export class LimitExceededError extends ChunkpullError {
  constructor(message: string) {
    super("ELIMIT", message);
  }
}

/** The input is valid but uses something this operation does not support (e.g. sparse tar). */
export class UnsupportedError extends ChunkpullError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EUNSUPPORTED", message, options);
  }
}

/**
 * A partial pull is not possible for this layer (no TOC, no tar-split, server refuses ranges...).
 * The pull engine catches this one and falls back to a full, verified pull.
 */
export class FallbackError extends ChunkpullError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("EFALLBACK", message, options);
  }
}

/** Invalid usage of an API or CLI (bad argument, bad reference). */
export class UsageError extends ChunkpullError {
  constructor(message: string) {
    super("EUSAGE", message);
  }
}

/** The local store is locked by another process (a running gc, or pulls that gc waits for). */
export class StoreBusyError extends ChunkpullError {
  constructor(message: string) {
    super("EBUSY", message);
  }
}

/**
 * Something the store was expected to hold is not there (never stored, collected, or found
 * damaged on use and removed). Not a usage error: re-pulling brings it back. The pull engine
 * treats it as a miss and fetches the content again.
 */
export class NotInStoreError extends ChunkpullError {
  constructor(message: string) {
    super("ENOTINSTORE", message);
  }
}

/**
 * The store directory cannot be used: missing for a read-only command (`ENOSTORE`), not a
 * directory, not writable, or the disk is full (`ENOSPC`). The message names the path.
 */
export class StoreAccessError extends ChunkpullError {
  constructor(
    code: "ENOSTORE" | "ESTORE" | "ENOSPC",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
