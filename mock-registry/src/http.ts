/**
 * Response plumbing shared by both origins: the spec's error bodies and a body writer that
 * applies the byte-level modes (corruption, bandwidth cap, connection reset after N bytes)
 * while counting the bytes actually handed to the socket.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { BehaviourModes, RequestRecord } from "./types.js";

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  rec: RequestRecord;
  url: URL;
}

/** A piece of a response body; `blobOffset` says where blob bytes start (for corruption). */
export interface BodyPiece {
  data: Buffer;
  blobOffset?: number;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `{"errors":[{code,message,detail}]}` as distribution sends it. */
export function sendError(
  ctx: RequestContext,
  status: number,
  code: string,
  message: string,
  detail?: unknown,
  headers: Record<string, string> = {},
): void {
  const entry: Record<string, unknown> = { code, message };
  if (detail !== undefined) entry["detail"] = detail;
  sendJson(ctx, status, { errors: [entry] }, headers);
}

export function sendJson(
  ctx: RequestContext,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(`${JSON.stringify(value)}\n`);
  ctx.res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(body.length),
    ...headers,
  });
  endWith(ctx, ctx.req.method === "HEAD" ? Buffer.alloc(0) : body);
}

/** Go's http.Error: text/plain body with a trailing newline (used where ServeContent errors). */
export function sendGoError(ctx: RequestContext, status: number, message: string): void {
  const body = Buffer.from(`${message}\n`);
  const res = ctx.res;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Content-Length", String(body.length));
  res.writeHead(status);
  endWith(ctx, ctx.req.method === "HEAD" ? Buffer.alloc(0) : body);
}

export function endWith(ctx: RequestContext, body: Buffer): void {
  ctx.rec.bytesSent += body.length;
  ctx.res.end(body);
}

function writeAsync(res: ServerResponse, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = res.write(data, (err) => (err ? reject(err) : ok || resolve()));
    if (ok) resolve();
    else res.once("drain", resolve);
  });
}

/** Write and wait until the data (and the headers, for an empty write) reached the socket. */
function writeFlushed(res: ServerResponse, data: Buffer): Promise<void> {
  if (data.length === 0) res.flushHeaders();
  const socket = res.socket;
  return new Promise((resolve) => {
    if (data.length > 0) res.write(data, () => resolve());
    else if (socket) socket.write("", () => resolve());
    else resolve();
  });
}

/** Destroy the connection with a TCP RST so the client sees ECONNRESET mid-body. */
function resetConnection(socket: Socket | null): void {
  if (!socket) return;
  if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
  else socket.destroy();
}

/**
 * Write body pieces honouring the modes. Headers must already be set (Content-Length exact).
 * Returns when the body is complete, the client went away, or the connection was reset.
 */
export async function sendBody(
  ctx: RequestContext,
  pieces: AsyncIterable<BodyPiece> | Iterable<BodyPiece>,
  modes: BehaviourModes,
): Promise<void> {
  const { res, rec } = ctx;
  const bw = modes.bandwidthBytesPerSecond;
  const slice = bw > 0 ? Math.max(256, Math.floor(bw / 20)) : Number.POSITIVE_INFINITY;
  const started = Date.now();
  let closed = false;
  res.once("close", () => {
    closed = true;
  });
  for await (const piece of pieces) {
    let data = piece.data;
    const at = modes.corruptByteAt;
    if (at !== null && piece.blobOffset !== undefined) {
      const rel = at - piece.blobOffset;
      if (rel >= 0 && rel < data.length) {
        data = Buffer.from(data);
        data[rel] = data[rel]! ^ 0xff;
      }
    }
    for (let off = 0; off < data.length; ) {
      if (closed || res.destroyed) {
        rec.aborted = true;
        return;
      }
      let part = data.subarray(off, Math.min(data.length, off + slice));
      const limit = modes.resetAfterBytes;
      if (limit !== null && rec.bytesSent + part.length >= limit) {
        part = part.subarray(0, Math.max(0, limit - rec.bytesSent));
        await writeFlushed(res, part);
        rec.bytesSent += part.length;
        rec.aborted = true;
        // Give loopback time to deliver what was written: an RST discards unsent data.
        await sleep(20);
        resetConnection(res.socket);
        return;
      }
      const stall = modes.stallAfterBytes;
      if (stall !== null && rec.bytesSent + part.length >= stall) {
        part = part.subarray(0, Math.max(0, stall - rec.bytesSent));
        await writeFlushed(res, part);
        rec.bytesSent += part.length;
        rec.aborted = true;
        // Say nothing more until the client hangs up (closing the server also ends it).
        if (!closed && !res.destroyed) await new Promise((r) => res.once("close", r));
        return;
      }
      await writeAsync(res, part);
      rec.bytesSent += part.length;
      off += part.length;
      if (bw > 0) {
        const due = started + (rec.bytesSent / bw) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
      }
    }
  }
  if (!closed) res.end();
}
