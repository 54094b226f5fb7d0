/**
 * Every failure as ONE line on stderr: `chunkpull <command>: <message> [<CODE>]; hint: <hint>`.
 * The code is the library's stable error code (or the system call's, e.g. EACCES); the hint is
 * the error's own `hint` when it has one, else a default for its code.
 */
import { ChunkpullError } from "../errors.js";

const HINTS: Record<string, (cmd: string) => string> = {
  EUSAGE: (cmd) => `see 'chunkpull ${cmd ? `${cmd} ` : ""}--help'`,
  EUNAUTHORIZED: () =>
    "pass --creds USER:PASSWORD or log in (podman/skopeo/docker login) so the auth file has this registry",
  ENOTFOUND: () => "check the repository and tag (or digest) of the reference",
  EPLATFORM: () => "choose one of the available platforms with --platform",
  EDIGEST: () =>
    "bytes did not match their digest and were not kept; retry, and report it to the registry's operator if it persists",
  ENETWORK: () => "check that the registry is reachable; --debug shows each request",
  ERATELIMIT: () => "wait and retry, or log in for a higher limit",
  EBUSY: () => "another chunkpull process holds the store (gc or pulls); retry when it is done",
  EFORMAT: () => "the image or layer is malformed; the registry's copy may be damaged",
  ELIMIT: () => "the metadata is larger than chunkpull accepts",
  EUNSUPPORTED: () => "this input uses a feature chunkpull does not handle",
  EREGISTRY: () => "the registry refused the request; --debug shows each request",
  ERANGERESPONSE: () => "the registry mishandled a range request",
  ETIMEOUT: () =>
    "the registry did not answer in time; check that it is reachable, or raise --timeout",
  ETLS: () => "check the registry's certificate; a plain-HTTP registry needs --plain-http",
  EPROTOCOL: () => "no HTTP registry answers at that address; check the host and port",
  ENOSTORE: () => "check --store (read-only commands never create a store)",
  ESTORE: () => "--store must be a writable directory",
  ENOTINSTORE: () => "see 'chunkpull store ls'; a pull brings missing content back",
  ENOENT: () => "check the path",
  EACCES: () => "check the permissions of the path (or use --store DIR)",
  EPERM: () => "check the permissions of the path (or use --store DIR)",
  ENOTDIR: () => "a path component is a file, not a directory",
  EROFS: () => "the file system is read-only (use --store DIR elsewhere)",
  ENOSPC: () => "the disk is full; `chunkpull store gc` frees unreferenced objects",
  EINTERNAL: () => "this is a bug in chunkpull; run again with --debug for the stack trace",
};

export interface Described {
  line: string;
  code: string;
  usage: boolean;
}

function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean)
    .join("; ");
}

/** The error's code: the library's, else a system call's (`ENOENT`), else EINTERNAL. */
export function errorCode(err: unknown): string {
  if (err instanceof ChunkpullError) return err.code;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && /^E[A-Z0-9_]+$/.test(code)) return code;
  return "EINTERNAL";
}

/**
 * A failed pull keeps what it fetched: every object in the store passed its own digest check,
 * but no layer record vouches for it yet. Said once, so nobody wonders where the disk went.
 */
const LEFT_IN_STORE =
  "; files fetched so far stay in the store (each checked by its digest) for the next pull to reuse; `chunkpull store gc` removes what no recorded layer uses";

export function describeError(err: unknown, command: string): Described {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const own = (err as { hint?: unknown })?.hint;
  const hint = typeof own === "string" && own ? own : HINTS[code]?.(command);
  const prefix = command ? `chunkpull ${command}` : "chunkpull";
  const usage = code === "EUSAGE";
  const line = `${prefix}: ${oneLine(message)} [${code}]${hint ? `; hint: ${oneLine(hint)}` : ""}${command === "pull" && !usage ? LEFT_IN_STORE : ""}`;
  return { line, code, usage };
}
