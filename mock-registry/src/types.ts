/**
 * Public types of the mock registry. The registry-client helper and the pull engine code against
 * these names; keep them stable and documented in mock-registry/README.md.
 */

/** How a blob GET with more than one range is answered (section 1.8 / 1.10 item 4 of the spec). */
export type MultiRangeMode =
  /** Go http.ServeContent exactly: 206 multipart/byteranges (what distribution serves). */
  | "multipart"
  /** 200 with the whole blob (S3 / MinIO). */
  | "full200"
  /** 400 Bad Request (Google Cloud Storage). */
  | "status400"
  /** 416 Range Not Satisfiable with `bytes *\/SIZE` (zot before PR #3995). */
  | "status416"
  /** 501 Unsupported client range (GHCR blob CDN). */
  | "status501"
  /** 206 single part with only the first requested range (some CDNs). */
  | "firstOnly"
  /** 206 multipart with the parts in reverse request order. */
  | "reorder";

/** 429 with Retry-After for the next `count` requests in scope. */
export interface TooManyRequestsMode {
  count: number;
  /** Delay advertised in Retry-After, in seconds. */
  retryAfterSeconds: number;
  /** "seconds": `Retry-After: 2`; "http-date": `Retry-After: <IMF-fixdate now+delay>`. */
  form: "seconds" | "http-date";
}

/** A burst of 5xx answers for the next `count` requests in scope. */
export interface ServerErrorMode {
  count: number;
  status: 500 | 502 | 503 | 504;
}

/**
 * Behaviour switches. Every field has a default (see DEFAULT_MODES) equal to "behave like
 * distribution/registry with filesystem storage". Modes can be set globally or per repository;
 * a per-repository value overrides the global one field by field.
 */
export interface BehaviourModes {
  /** Multi-range answer style. Default "multipart". */
  multiRange: MultiRangeMode;
  /** Multipart boundary contains an unquoted ':' (quay.io / CloudFront). Default false. */
  colonBoundary: boolean;
  /** Ignore the Range header entirely: always 200 full body (Harbor proxy cache). Default false. */
  ignoreRange: boolean;
  /**
   * Accept only one closed range `bytes=N-M` (go-containerregistry's test registry): open,
   * suffix and multiple ranges get 416. Default false.
   */
  closedRangesOnly: boolean;
  /** Send `Accept-Ranges: bytes` on blob answers. Default true. */
  acceptRanges: boolean;
  /** Destroy the socket after this many body bytes of a blob GET (null = never). Default null. */
  resetAfterBytes: number | null;
  /**
   * Stop sending after this many body bytes of a blob GET and keep the connection open without
   * a word (a stalled upstream); null = never. Default null.
   */
  stallAfterBytes: number | null;
  /** Accept requests in scope and never answer them (headers never come). Default false. */
  stallHeaders: boolean;
  /** Blob/manifest body bandwidth cap in bytes per second (0 = unlimited). Default 0. */
  bandwidthBytesPerSecond: number;
  /** Delay before answering any /v2/ request in scope, in ms. Default 0. */
  latencyMs: number;
  /** 429 for the next N requests (counter decrements per request; null = off). Default null. */
  tooManyRequests: TooManyRequestsMode | null;
  /** 5xx for the next N requests (null = off). Default null. */
  serverErrors: ServerErrorMode | null;
  /** Flip (XOR 0xff) the byte at this blob offset whenever it is sent (null = off). Default null. */
  corruptByteAt: number | null;
  /**
   * Answer blob GETs with 307 to the second origin (`MockRegistry.storageUrl`) with an HMAC
   * signed URL that expires after `redirectTtlSeconds`; that origin answers 400 when the request
   * carries Authorization, 403 when the signature is bad or expired. Default false.
   */
  redirectBlobs: boolean;
  /** Lifetime of redirect URLs in seconds. Default 60. */
  redirectTtlSeconds: number;
  /** Docker-Content-Digest on manifest answers: "present" | "absent" | "wrong". Default "present". */
  manifestDigestHeader: "present" | "absent" | "wrong";
  /** Answer HEAD on manifests with 405. Default false. */
  manifestHead405: boolean;
  /** A `Warning: 299 - "text"` header added to every /v2/ answer in scope (null = none). */
  warning: string | null;
}

/** One request as seen by the registry origin or the redirect (storage) origin. */
export interface RequestRecord {
  /** 1-based sequence number in arrival order. */
  seq: number;
  /** Date.now() when the request arrived. */
  time: number;
  method: string;
  /** Path without the query string. */
  path: string;
  /** "registry" = main origin, "storage" = redirect target origin, "token" = token endpoint. */
  origin: "registry" | "storage" | "token";
  kind: "ping" | "manifest" | "blob" | "upload" | "tags" | "catalog" | "token" | "other";
  /** Repository name when the path names one. */
  repo?: string;
  /** Blob or manifest digest when known. */
  digest?: string;
  /** Raw Range header, if any. */
  range?: string;
  status: number;
  /** Response body bytes written to the socket (headers excluded). */
  bytesSent: number;
  /** True when the answer was a redirect to the storage origin. */
  redirected: boolean;
  /** True when the connection was reset on purpose (resetAfterBytes) or by the client. */
  aborted: boolean;
  /** Whether the request carried an Authorization header. */
  authorization: boolean;
}

/** Totals per blob digest over both origins (what a benchmark wants to know). */
export interface BlobStats {
  digest: string;
  /** GET/HEAD requests that reached blob serving (redirects count on the storage origin). */
  requests: number;
  /** Requests that carried a Range header. */
  rangeRequests: number;
  /** Body bytes sent for this blob. */
  bytesSent: number;
  /** Answers that sent the whole blob with 200. */
  fullBodies: number;
}

export interface MockStats {
  requests: RequestRecord[];
  /** Keyed by digest. */
  blobs: Record<string, BlobStats>;
  totals: {
    requests: number;
    bytesSent: number;
    blobBytesSent: number;
    manifestRequests: number;
    blobRequests: number;
    rangeRequests: number;
    redirects: number;
    /** Status code (as string) -> count. */
    byStatus: Record<string, number>;
  };
}

/** A grant of actions on repositories: exact name, a `prefix/*` pattern, or "*". */
export interface AccessRule {
  /** A user name, "*" for any authenticated user, or "anonymous". */
  user: string;
  repo: string;
  actions: Array<"pull" | "push" | "delete">;
}

export type AuthOptions =
  | { kind: "none" }
  | { kind: "basic"; users: Record<string, string> }
  | {
      kind: "bearer";
      /** Users allowed to log in to the token server (user -> password). */
      users?: Record<string, string>;
      /** Anonymous tokens get pull on every repository. Default true. */
      anonymousPull?: boolean;
      /** Token lifetime; also reported as `expires_in`. Default 300. */
      tokenTtlSeconds?: number;
      /** Which field(s) carry the token in the token response. Default "token". */
      tokenField?: "token" | "access_token" | "both";
      /** Answer non-ping 401s without WWW-Authenticate. Default false. */
      noChallenge?: boolean;
      /** Omit `expires_in` from token responses. Default false. */
      omitExpiresIn?: boolean;
      /** Add `issued_at` to token responses. Default true. */
      issuedAt?: boolean;
      /** Status for the OAuth2 POST to the realm: "ok" serves it, a number refuses. Default "ok". */
      oauthPost?: "ok" | 400 | 401 | 404 | 405;
      /** Status when a valid token lacks the needed action. Default 401 (distribution). */
      insufficientScopeStatus?: 401 | 403;
      /**
       * Explicit grants. Default: every authenticated user gets pull+push+delete on all
       * repositories; anonymous gets pull when anonymousPull is not false.
       */
      access?: AccessRule[];
    };

export type StorageOptions = { kind: "memory" } | { kind: "dir"; root: string };

export interface MockRegistryOptions {
  storage?: StorageOptions;
  auth?: AuthOptions;
  /** Global modes at start. */
  modes?: Partial<BehaviourModes>;
  /** Port of the registry origin; 0 (default) = a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Largest accepted blob upload in bytes (413 SIZE_INVALID above). Default 2 GiB. */
  maxUploadBytes?: number;
  /** Largest accepted manifest in bytes (413 MANIFEST_INVALID above). Default 4 MiB. */
  maxManifestBytes?: number;
  /** Keep at most this many request records (oldest dropped; totals keep counting). Default 100000. */
  maxRequestRecords?: number;
}

export interface MockRegistry {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT */
  host: string;
  /** http://127.0.0.1:PORT2 — the redirect target (second origin) for redirectBlobs. */
  storageUrl: string;
  setModes(modes: Partial<BehaviourModes>, repo?: string): void;
  clearModes(repo?: string): void;
  stats(): MockStats;
  resetStats(): void;
  putBlob(repo: string, data: Uint8Array): Promise<string>;
  putManifest(
    repo: string,
    reference: string,
    body: Uint8Array | string,
    mediaType: string,
  ): Promise<string>;
  close(): Promise<void>;
}
