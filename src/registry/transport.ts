/**
 * The innermost layer: one undici dispatcher (Agent, or EnvHttpProxyAgent when a proxy is
 * configured) whose per-origin pools keep connections alive, with timeouts and request/byte
 * counters so tests can assert round trips.
 */
import { createRequire } from "node:module";
import type { Dispatcher } from "undici";
import { LimitExceededError } from "../errors.js";
import type { HttpRequest, HttpResponse, Send } from "./http.js";
import { currentMeter, type Meter } from "./meter.js";

export interface TlsOptions {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** false accepts any certificate (insecure registries). */
  rejectUnauthorized?: boolean;
}

export interface TransportOptions {
  /** Sockets per origin. */
  connections?: number;
  timeoutMs?: number;
  userAgent?: string;
  tls?: TlsOptions;
  /** "env" (default) uses HTTP(S)_PROXY/NO_PROXY when set; a URL forces that proxy; "none" disables. */
  proxy?: "env" | "none" | string;
  /** Use this dispatcher instead of building one (tests, custom pools). */
  dispatcher?: Dispatcher;
}

export interface TransportStats {
  /** HTTP requests sent (every attempt, redirect hop and token request). */
  requests: number;
  /** Response body bytes received. */
  bytesReceived: number;
}

const PROXY_VARS = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"];

/**
 * undici is loaded when the first dispatcher is built, not when the library is imported, and
 * only its dispatchers: undici's index also loads fetch, cookies and, through the globals those
 * touch, node's own bundled copy of undici (about 0.1 s of CPU per process, the largest part of
 * a pull's start-up). The request API is attached to Dispatcher.prototype exactly as the index
 * does. Should undici's file layout ever change, the index is the fallback. CommonJS, so a
 * synchronous require keeps the constructor synchronous.
 */
type Undici = Pick<typeof import("undici"), "Agent" | "EnvHttpProxyAgent">;
let undici: Undici | undefined;
function loadUndici(): Undici {
  if (undici) return undici;
  const req = createRequire(import.meta.url);
  try {
    const dispatcher = req("undici/lib/dispatcher/dispatcher.js") as { prototype: object };
    if (!("request" in dispatcher.prototype))
      Object.assign(dispatcher.prototype, req("undici/lib/api/index.js"));
    undici = {
      Agent: req("undici/lib/dispatcher/agent.js"),
      EnvHttpProxyAgent: req("undici/lib/dispatcher/env-http-proxy-agent.js"),
    };
  } catch {
    undici = req("undici") as Undici;
  }
  return undici!;
}

function buildDispatcher(o: TransportOptions): Dispatcher {
  const { Agent, EnvHttpProxyAgent } = loadUndici();
  const timeout = o.timeoutMs ?? 30_000;
  const common = {
    connections: o.connections ?? 8,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    connect: { timeout, ...(o.tls ?? {}) },
  };
  const proxy = o.proxy ?? "env";
  if (proxy === "none") return new Agent(common);
  if (proxy !== "env")
    return new EnvHttpProxyAgent({ ...common, httpProxy: proxy, httpsProxy: proxy });
  if (PROXY_VARS.some((v) => process.env[v])) return new EnvHttpProxyAgent(common);
  return new Agent(common);
}

export class Transport {
  readonly stats: TransportStats = { requests: 0, bytesReceived: 0 };
  readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly userAgent: string;

  constructor(options: TransportOptions = {}) {
    this.dispatcher = options.dispatcher ?? buildDispatcher(options);
    this.ownsDispatcher = options.dispatcher === undefined;
    this.userAgent = options.userAgent ?? "chunkpull/0.1";
  }

  readonly send: Send = async (req: HttpRequest): Promise<HttpResponse> => {
    this.stats.requests++;
    // The meter is taken when the request is sent: body bytes count for it whenever they arrive.
    const meter = currentMeter();
    if (meter) meter.requests++;
    const res = await this.dispatcher.request({
      origin: req.url.origin,
      path: req.url.pathname + req.url.search,
      method: req.method,
      headers: { "user-agent": this.userAgent, ...req.headers },
      body: req.body,
      signal: req.signal,
    });
    return this.wrap(req.url, res, meter);
  };

  private wrap(url: URL, res: Dispatcher.ResponseData, meter: Meter | undefined): HttpResponse {
    const raw = res.body;
    const global = this.stats;
    const stats = {
      add(n: number) {
        global.bytesReceived += n;
        if (meter) meter.bytesReceived += n;
      },
    };
    let used = false;
    async function* chunks(): AsyncGenerator<Buffer> {
      if (used) throw new Error(`response body of ${url} read twice`);
      used = true;
      try {
        for await (const chunk of raw) {
          stats.add((chunk as Buffer).length);
          yield chunk as Buffer;
        }
      } finally {
        // An abandoned body must not keep the socket busy; a finished one is already ended.
        if (!raw.readableEnded) raw.destroy();
      }
    }
    const body = chunks();
    return {
      status: res.statusCode,
      headers: res.headers as Record<string, string | string[] | undefined>,
      url,
      redirected: false,
      body,
      async bytes(limit: number) {
        const parts: Buffer[] = [];
        let total = 0;
        for await (const c of body) {
          total += c.length;
          if (total > limit) {
            raw.destroy();
            throw new LimitExceededError(`response from ${url} is larger than ${limit} bytes`);
          }
          parts.push(c);
        }
        return Buffer.concat(parts, total);
      },
      async dump() {
        if (used) return;
        used = true;
        try {
          let n = 0;
          for await (const c of raw) {
            stats.add((c as Buffer).length);
            n += (c as Buffer).length;
            if (n > 64 * 1024) break;
          }
        } catch {
          // The body is being thrown away; its errors do not matter.
        } finally {
          if (!raw.readableEnded) raw.destroy();
        }
      },
      abort() {
        used = true;
        raw.destroy();
      },
    };
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}
