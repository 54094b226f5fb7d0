/**
 * Filesystem errors in store terms: a full disk or an unusable directory becomes one typed
 * error that names the path and what was being done (node's own messages name neither the
 * layer nor, for a write, the file).
 */
import { StoreAccessError } from "../errors.js";

const ACCESS = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR"]);

/** The typed error for `err`, or `err` itself when it is not about space or access. */
export function storeIoError(err: unknown, doing: string, path: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new StoreAccessError("ENOSPC", `no space left on device ${doing} (${path})`, {
      cause: err,
    });
  }
  if (code !== undefined && ACCESS.has(code)) {
    return new StoreAccessError("ESTORE", `cannot ${doing}: ${path}: ${code}`, { cause: err });
  }
  return err;
}

/** Run `fn`, rethrowing filesystem errors as storeIoError does. */
export async function storeIo<T>(doing: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storeIoError(err, doing, path);
  }
}
