/**
 * Terminal conventions: colour only on a TTY and never with NO_COLOR; a closed stdout or stderr
 * (EPIPE: `| head`) ends that stream quietly instead of crashing with a stack, and the command
 * itself carries on, so a pull whose progress pipe closed still finishes and reports its status.
 */
import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";

const closed = new WeakSet<NodeJS.WriteStream>();

/** Installs the EPIPE guard on stdout and stderr (once per process). */
export function guardPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      // Any write error means nobody is reading: drop further output, keep working.
      closed.add(stream);
      if (err.code !== "EPIPE" && stream === process.stdout) process.exitCode ||= 1;
    });
  }
}

export function isClosed(stream: NodeJS.WriteStream): boolean {
  return closed.has(stream) || stream.destroyed;
}

/** Writes unless the reader went away. */
export function write(stream: NodeJS.WriteStream, text: string): void {
  if (!isClosed(stream)) stream.write(text);
}

export function out(text: string): void {
  write(process.stdout, text);
}

export function err(text: string): void {
  write(process.stderr, text);
}

/** NO_COLOR (any non-empty value, https://no-color.org) wins; colour needs a TTY. */
export function useColor(stream: NodeJS.WriteStream = process.stderr): boolean {
  if (process.env.NO_COLOR) return false;
  return stream.isTTY === true;
}

export const ansi = {
  red: (s: string, on: boolean) => (on ? `\x1b[31m${s}\x1b[39m` : s),
  green: (s: string, on: boolean) => (on ? `\x1b[32m${s}\x1b[39m` : s),
  dim: (s: string, on: boolean) => (on ? `\x1b[2m${s}\x1b[22m` : s),
};

/**
 * Removes the temp files THIS process left in a store's `tmp/` (named `<pid>-<random>.tmp` by
 * the store's writers); other processes' temp files are live work and stay.
 */
export async function removeOwnTempFiles(storeDir: string): Promise<number> {
  const tmp = join(storeDir, "tmp");
  let names: string[];
  try {
    names = await readdir(tmp);
  } catch {
    return 0;
  }
  const mine = names.filter((n) => n.startsWith(`${process.pid}-`) && n.endsWith(".tmp"));
  await Promise.all(mine.map((n) => unlink(join(tmp, n)).catch(() => {})));
  return mine.length;
}
