/**
 * Runs one command the way a user would, as its own process under GNU time: wall time
 * (hrtime), CPU time (user + system, children included) and peak RSS of the largest process.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Measured {
  wall: number;
  cpu: number;
  rssMiB: number;
  ok: boolean;
  error?: string;
}

const timeDir = mkdtempSync(join(tmpdir(), "chunkpull-bench-time-"));
process.on("exit", () => rmSync(timeDir, { recursive: true, force: true }));

export async function measure(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Measured> {
  const timeFile = join(timeDir, "time.txt");
  const t0 = process.hrtime.bigint();
  const child = spawn("/usr/bin/time", ["-f", "%U %S %M", "-o", timeFile, cmd, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const code: number = await new Promise((r) => child.on("close", (c) => r(c ?? 1)));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  let cpu = 0;
  let rssMiB = 0;
  try {
    const last = readFileSync(timeFile, "utf8").trim().split("\n").pop() ?? "";
    const [u, s, m] = last.split(" ").map(Number);
    cpu = (u ?? 0) + (s ?? 0);
    rssMiB = (m ?? 0) / 1024;
  } catch {
    // time did not write its report (the command could not start)
  }
  return code === 0
    ? { wall, cpu, rssMiB, ok: true }
    : { wall, cpu, rssMiB, ok: false, error: stderr.trim() };
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
