/**
 * The innermost layer: one undici dispatcher (Agent, or EnvHttpProxyAgent when a proxy is
 * configured) whose per-origin pools keep connections alive, with the deadlines of timeouts.ts,
 * request/byte counters so tests can assert round trips, and raw socket/TLS/parser failures
 * turned into typed errors that name the URL (transport-errors.ts).
 */
import { Agent, type Dispatcher, EnvHttpProxyAgent } from "undici";
import { LimitExceededError } from "../errors.js";
import { displayUrl, type HttpRequest, type HttpResponse, type Send } from "./http.js";
import { currentMeter, type Meter } from "./meter.js";
import {
  type ResolvedTimeouts,
  resolveTimeouts,
  ThroughputWatch,
  type TimeoutOptions,
} from "./timeouts.js";
import { wrapTransportError } from "./transport-errors.js";
import { defaultUserAgent } from "./user-agent.js";

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
  /** Connect, header and body-idle timeout at once (older single knob; `timeouts` wins). */
  timeoutMs?: number;
  /** Deadlines per phase and the minimum throughput (timeouts.ts has the defaults). */
  timeouts?: TimeoutOptions;
  userAgent?: string;
  tls?: TlsOptions;
  /** "env" (default) uses HTTP(S)_PROXY/NO_PROXY when set; a URL forces that proxy; "none" disables. */
  proxy?: "env" | "none" | string;
  /**
   * Use this dispatcher instead of building one (custom pools, undici interceptors, mocks). The
   * caller owns it: close() leaves it open. Its own timeouts apply; the throughput rule and
   * error typing still do.
   */
  dispatcher?: Dispatcher;
}

export interface TransportStats {
  /** HTTP requests sent (every attempt, redirect hop and token request). */
  requests: number;
  /** Response body bytes received. */
  bytesReceived: number;
}

const PROXY_VARS = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"];

function buildDispatcher(o: TransportOptions, t: ResolvedTimeouts): Dispatcher {
  const common = {
    connections: o.connections ?? 8,
    headersTimeout: t.headersMs,
    bodyTimeout: t.idleMs,
    connect: { timeout: t.connectMs, ...(o.tls ?? {}) },
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
  readonly timeouts: ResolvedTimeouts;

  constructor(options: TransportOptions = {}) {
    this.timeouts = resolveTimeouts(options.timeouts, options.timeoutMs);
    this.dispatcher = options.dispatcher ?? buildDispatcher(options, this.timeouts);
    this.ownsDispatcher = options.dispatcher === undefined;
    this.userAgent = options.userAgent ?? defaultUserAgent();
  }

  readonly send: Send = async (req: HttpRequest): Promise<HttpResponse> => {
    this.stats.requests++;
    // The meter is taken when the request is sent: body bytes count for it whenever they arrive.
    const meter = currentMeter();
    if (meter) meter.requests++;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
        origin: req.url.origin,
        path: req.url.pathname + req.url.search,
        method: req.method,
        headers: { "user-agent": this.userAgent, ...req.headers },
        body: req.body,
        signal: req.signal,
      });
    } catch (e) {
      throw wrapTransportError(e, req.method, displayUrl(req.url), this.timeouts, req.signal);
    }
    return this.wrap(req, res, meter);
  };

  private wrap(
    req: HttpRequest,
    res: Dispatcher.ResponseData,
    meter: Meter | undefined,
  ): HttpResponse {
    const url = req.url;
    const raw = res.body;
    const shown = displayUrl(url);
    const limits = this.timeouts;
    const watch = new ThroughputWatch(limits, req.method, shown);
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
      const it = raw[Symbol.asyncIterator]();
      try {
        for (;;) {
          // Only the time spent waiting for the network counts towards throughput.
          const waitStart = performance.now();
          let r: IteratorResult<unknown>;
          try {
            r = await it.next();
          } catch (e) {
            throw wrapTransportError(e, req.method, shown, limits, req.signal);
          }
          const chunk = r.done ? undefined : (r.value as Buffer);
          if (chunk) stats.add(chunk.length);
          watch.add(chunk?.length ?? 0, performance.now() - waitStart);
          if (!chunk) return;
          yield chunk;
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
