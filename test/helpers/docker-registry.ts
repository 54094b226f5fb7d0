/**
 * Start the real distribution registry (Debian package `docker-registry`) on a free loopback
 * port with filesystem storage in a temp dir, for tests that compare against it.
 * Optional htpasswd (bcrypt via `htpasswd -Bbn` from apache2-utils) for Basic auth tests.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch as undiciFetch } from "undici";

export interface DockerRegistry {
  url: string;
  host: string;
  close(): Promise<void>;
}

/** Whether an executable is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * For `test(name, { skip: toolSkip([...]) }, ...)`: false when the tools exist; a skip message
 * otherwise. With CI set, missing tools must fail the run, so this throws instead.
 */
export function toolSkip(tools: string[]): string | false {
  const missing = tools.filter((t) => !hasCommand(t));
  if (missing.length === 0) return false;
  const msg = `missing ${missing.join(", ")} (apt-get install -y docker-registry skopeo apache2-utils openssl)`;
  if (process.env["CI"]) throw new Error(`CI is set and ${msg}`);
  return msg;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, "close");
  return port;
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const insecureAgent = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    await pollReady(url, child, log, insecureAgent);
  } finally {
    await insecureAgent.close();
  }
}

async function pollReady(
  url: string,
  child: ChildProcess,
  log: () => string,
  insecureAgent: Agent,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`docker-registry exited (${child.exitCode}): ${log()}`);
    try {
      // A test registry's certificate is self-signed: readiness only needs an answer.
      const res = await undiciFetch(`${url}/v2/`, { dispatcher: insecureAgent });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not become ready at ${url}: ${log()}`);
}

export interface DockerRegistryOptions {
  htpasswd?: { user: string; password: string };
  /** Pull-through cache mode: distribution's `proxy: remoteurl:` in front of another registry. */
  proxy?: { remoteurl: string; username?: string; password?: string };
  /** Serve HTTPS with this PEM certificate and key (files). */
  tls?: { certificate: string; key: string };
}

export async function startDockerRegistry(
  opts: DockerRegistryOptions = {},
): Promise<DockerRegistry> {
  if (!hasCommand("docker-registry")) throw new Error("docker-registry is not installed");
  const dir = await mkdtemp(join(tmpdir(), "chunkpull-docker-registry-"));
  const port = await freePort();
  let auth = "";
  if (opts.htpasswd) {
    const line = execFileSync("htpasswd", ["-Bbn", opts.htpasswd.user, opts.htpasswd.password], {
      encoding: "utf8",
    });
    await writeFile(join(dir, "htpasswd"), line.trim() + "\n");
    auth = `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${join(dir, "htpasswd")}\n`;
  }
  let proxy = "";
  if (opts.proxy) {
    proxy = `proxy:\n  remoteurl: ${opts.proxy.remoteurl}\n`;
    if (opts.proxy.username !== undefined)
      proxy += `  username: ${opts.proxy.username}\n  password: ${opts.proxy.password ?? ""}\n`;
  }
  const tls = opts.tls
    ? `  tls:\n    certificate: ${opts.tls.certificate}\n    key: ${opts.tls.key}\n`
    : "";
  const config =
    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n" +
    `storage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\n  delete:\n    enabled: true\n` +
    `http:\n  addr: 127.0.0.1:${port}\n` +
    tls +
    auth +
    proxy;
  await writeFile(join(dir, "config.yml"), config);
  const child = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const host = `127.0.0.1:${port}`;
  const url = `${opts.tls ? "https" : "http"}://${host}`;
  const close = async () => {
    if (child.exitCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, () => stderr);
  } catch (e) {
    await close();
    throw e;
  }
  return { url, host, close };
}
