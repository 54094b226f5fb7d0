/**
 * Runs the BUILT command line as a child process with full control of its environment and
 * streams: closing a pipe early (EPIPE), sending a signal once some output appeared, or running
 * it under a pseudo-terminal (`script`) to see what a user's terminal sees.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { CLI } from "./helpers.js";

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  /** Destroy our end of the child's stdout / stderr at once (the reader went away). */
  closeStdout?: boolean;
  closeStderr?: boolean;
  /** Called with the stderr text so far on every chunk; may act on the child (kill...). */
  onStderr?: (text: string, child: ChildProcess) => void;
  timeoutMs?: number;
  /** The entry to run instead of the compiled command line (e.g. bin/chunkpull.mjs). */
  main?: string;
}

/** An environment with no auth files and no terminal colour settings of the test runner. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: "/nonexistent" };
  for (const k of ["NO_COLOR", "FORCE_COLOR", "REGISTRY_AUTH_FILE", "DOCKER_CONFIG"]) delete env[k];
  for (const k of ["XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"]) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runChild(args: string[], opts: ChildOptions = {}): Promise<ChildResult> {
  return spawnCollect(process.execPath, [opts.main ?? CLI, ...args], opts);
}

/** The CLI under a pseudo-terminal: stdout and stderr both arrive on the terminal's stdout. */
export function runInTerminal(args: string[], opts: ChildOptions = {}): Promise<ChildResult> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`);
  // COLUMNS keeps the line width fixed whatever the runner's terminal.
  return spawnCollect("script", ["-qefc", `stty cols 200; ${quoted.join(" ")}`, "/dev/null"], opts);
}

function spawnCollect(cmd: string, args: string[], opts: ChildOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    if (opts.closeStdout) child.stdout.destroy();
    else child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    if (opts.closeStderr) child.stderr.destroy();
    else {
      child.stderr.on("data", (b: Buffer) => {
        stderr += b.toString();
        opts.onStderr?.(stderr, child);
      });
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
