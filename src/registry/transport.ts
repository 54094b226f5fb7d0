/**
 * The innermost layer: one undici dispatcher (Agent, or EnvHttpProxyAgent when a proxy is
 * configured) whose per-origin pools keep connections alive, with the deadlines of timeouts.ts,
 * request/byte counters so tests can assert round trips, and raw socket/TLS/parser failures
 * turned into typed errors that name the URL (transport-errors.ts).
 */
import { createRequire } from "node:module";
import type { Dispatcher } from "undici";
import { displayUrl, type HttpRequest, type HttpResponse, readBounded, type Send } from "./http.js";
import { currentMeter, type HostCount, hostCount, type Meter } from "./meter.js";
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
  /** Per-origin TLS on top of `tls` (certs.d, hosts.toml, insecure registries); asked once per origin. */
  tlsFor?: (origin: string) => TlsOptions | undefined;
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
 * only what a registry client uses: the Agent (with its Pool and Client) and `request`, the one
 * API method the transport calls. undici's index also loads fetch, cookies and, through the
 * globals those touch, node's own bundled copy of undici (about 0.1 s of CPU per process); its
 * api/index adds stream, pipeline, upgrade and connect (about 8 ms). `request` is attached to
 * Dispatcher.prototype exactly as the index does; the proxy agent is loaded only when a proxy
 * is configured. Should undici's file layout ever change, the index is the fallback. CommonJS,
 * so a synchronous require keeps the constructor synchronous.
 */
type Undici = Pick<typeof import("undici"), "Agent" | "Client" | "EnvHttpProxyAgent" | "Pool">;
const requireHere = createRequire(import.meta.url);
let undici: Omit<Undici, "EnvHttpProxyAgent"> | undefined;
let viaIndex = false;
function loadUndici(): Omit<Undici, "EnvHttpProxyAgent"> {
  if (undici) return undici;
  try {
    const dispatcher = requireHere("undici/lib/dispatcher/dispatcher.js") as {
      prototype: Record<string, unknown>;
    };
    if (!("request" in dispatcher.prototype))
      dispatcher.prototype.request = requireHere("undici/lib/api/api-request.js");
    undici = {
      Agent: requireHere("undici/lib/dispatcher/agent.js"),
      Client: requireHere("undici/lib/dispatcher/client.js"),
      Pool: requireHere("undici/lib/dispatcher/pool.js"),
    };
  } catch {
    undici = requireHere("undici") as Undici;
    viaIndex = true;
  }
  return undici!;
}

/** The proxy agent tunnels with `connect`: it gets the whole request API, as from the index. */
function loadProxyAgent(): Undici["EnvHttpProxyAgent"] {
  const loaded = loadUndici();
  if (viaIndex) return (loaded as Undici).EnvHttpProxyAgent;
  try {
    const dispatcher = requireHere("undici/lib/dispatcher/dispatcher.js") as {
      prototype: Record<string, unknown>;
    };
    const api = requireHere("undici/lib/api/index.js") as Record<string, unknown>;
    for (const [name, fn] of Object.entries(api))
      if (!(name in dispatcher.prototype)) dispatcher.prototype[name] = fn;
    return requireHere("undici/lib/dispatcher/env-http-proxy-agent.js");
  } catch {
    return (requireHere("undici") as Undici).EnvHttpProxyAgent;
  }
}

function buildDispatcher(o: TransportOptions, t: ResolvedTimeouts): Dispatcher {
  const { Agent, Client, Pool } = loadUndici();
  const common = {
    connections: o.connections ?? 8,
    headersTimeout: t.headersMs,
    bodyTimeout: t.idleMs,
    connect: { timeout: t.connectMs, ...(o.tls ?? {}) },
  };
  const proxy = o.proxy ?? "env";
  const tlsFor = o.tlsFor;
  const proxied = proxy !== "none" && (proxy !== "env" || PROXY_VARS.some((v) => process.env[v]));
  if (tlsFor && !proxied) {
    // Each origin's pool is built with that origin's TLS settings (the factory runs once per
    // origin). Through an HTTP proxy only the global `tls` applies.
    const factory = (origin: string | URL, opts: object): Dispatcher => {
      const own = tlsFor(typeof origin === "string" ? origin : origin.origin);
      const po = opts as { connections?: number; connect?: object };
      const options = own ? { ...po, connect: { ...po.connect, ...own } } : po;
      return po.connections === 1 ? new Client(origin, options) : new Pool(origin, options);
    };
    return new Agent({ ...common, factory });
  }
  if (proxy === "none") return new Agent(common);
  if (proxy !== "env") {
    const EnvHttpProxyAgent = loadProxyAgent();
    return new EnvHttpProxyAgent({ ...common, httpProxy: proxy, httpsProxy: proxy });
  }
  if (PROXY_VARS.some((v) => process.env[v])) return new (loadProxyAgent())(common);
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
    const host = meter ? hostCount(meter, req.url.host) : undefined;
    if (meter) meter.requests++;
    if (host) host.requests++;
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
    return this.wrap(req, res, meter, host);
  };

  private wrap(
    req: HttpRequest,
    res: Dispatcher.ResponseData,
    meter: Meter | undefined,
    host: HostCount | undefined,
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
        if (host) host.bytesReceived += n;
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
      bytes: (limit: number) => readBounded(body, limit, String(url), () => raw.destroy()),
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
