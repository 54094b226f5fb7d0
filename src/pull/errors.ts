/**
 * Context for errors without touching them: `inContext` returns a new error of the same class
 * (same code, status, fields) whose message leads with the context and whose `cause` is the
 * original, so callers that branch on the class or the code keep working and the original stays
 * as it was thrown (another layer may hold the same object).
 */
import { ChunkpullError } from "../errors.js";

export function inContext<E extends ChunkpullError>(err: E, context: string): E {
  const wrapped = Object.create(Object.getPrototypeOf(err)) as E;
  Object.assign(wrapped, err);
  const message = `${context}: ${err.message}`;
  define(wrapped, "message", message);
  define(wrapped, "cause", err);
  define(wrapped, "stack", `${err.name}: ${message}\n${stackFrames(err)}`);
  return wrapped;
}

/** A layer stopped because another layer of the same pull failed first. */
export class LayerStoppedError extends ChunkpullError {
  constructor(layer: string, cause: unknown) {
    super("EABORTED", `layer ${layer}: stopped because another layer failed`, { cause });
  }
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true });
}

function stackFrames(err: Error): string {
  return (err.stack ?? "").split("\n").slice(1).join("\n");
}
