/**
 * A raw HTTP client for the mock-registry tests: exact paths (no normalisation), every header,
 * the body as bytes, and connection errors reported instead of thrown (for reset tests).
 */
import { request } from "node:http";

export interface RawResponse {
  status: number;
  statusMessage: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Set when the connection failed mid-response (e.g. ECONNRESET). */
  error?: NodeJS.ErrnoException;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export function raw(url: string, req: RawRequest = {}): Promise<RawResponse> {
  const u = new URL(url);
  // Keep the path exactly as given (URL would normalise `..`).
  const path = url.slice(url.indexOf("/", u.protocol.length + 2));
  return new Promise((resolve, reject) => {
    let settle: ((e?: NodeJS.ErrnoException) => void) | undefined;
    const r = request(
      {
        host: u.hostname,
        port: u.port,
        path,
        method: req.method ?? "GET",
        headers: req.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const done = (error?: NodeJS.ErrnoException) =>
          resolve({
            status: res.statusCode ?? 0,
            statusMessage: res.statusMessage ?? "",
            headers: res.headers,
            body: Buffer.concat(chunks),
            ...(error ? { error } : {}),
          });
        settle = done;
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => done());
        res.on("error", (e) => done(e));
        res.on("aborted", () => done(Object.assign(new Error("aborted"), { code: "ECONNRESET" })));
      },
    );
    // After the response started, a connection error ends it (with what arrived so far).
    r.on("error", (e) => (settle ? settle(e) : reject(e)));
    r.end(req.body);
  });
}

/** Parse a multipart/byteranges body (strict CRLF layout) into parts. */
export function parseMultipart(
  body: Buffer,
  contentType: string,
): Array<{ headers: Record<string, string>; data: Buffer }> {
  const m = /boundary=("?)([^";]+)\1/.exec(contentType);
  if (!m) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${m[2]}`);
  const parts: Array<{ headers: Record<string, string>; data: Buffer }> = [];
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const after = pos + delimiter.length;
    if (body.subarray(after, after + 2).toString() === "--") break;
    const headerEnd = body.indexOf("\r\n\r\n", after);
    const headers: Record<string, string> = {};
    for (const line of body
      .subarray(after + 2, headerEnd)
      .toString()
      .split("\r\n")) {
      const i = line.indexOf(":");
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    parts.push({ headers, data: body.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
  return parts;
}

/** Deterministic bytes. */
export function pattern(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
