/**
 * `certs.d/<host[:port]>/` directories (docker, containers and containerd all read them): every
 * `*.crt` is a CA to trust for that host, every `*.cert` with its `*.key` of the same base name is
 * a client certificate to present. Read synchronously once per host: the files are tiny and the
 * TLS settings must exist before the first connection to the host is opened.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { FormatError } from "../../errors.js";
import type { TlsOptions } from "../transport.js";

/** The usual places, most specific first. */
export function defaultCertsDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const configHome = env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), ".config");
  return [
    join(configHome, "containers/certs.d"),
    "/etc/containers/certs.d",
    "/etc/docker/certs.d",
    "/etc/containerd/certs.d",
  ];
}

/** CA bundle and client certificate for `host` from the first certs dir that has a folder for it. */
export function readCertsDir(dirs: readonly string[], host: string): TlsOptions | undefined {
  for (const dir of dirs) {
    const hostDir = join(dir, host);
    if (!existsSync(hostDir)) continue;
    const names = readdirSync(hostDir).sort();
    const tls: TlsOptions = {};
    const cas = names.filter((n) => n.endsWith(".crt")).map((n) => readFileSync(join(hostDir, n)));
    if (cas.length > 0) tls.ca = cas;
    const certs = names.filter((n) => n.endsWith(".cert"));
    if (certs.length > 0) {
      // One client identity per host: the first pair by name, as docker takes it.
      const cert = certs[0]!;
      const key = `${cert.slice(0, -".cert".length)}.key`;
      if (!names.includes(key))
        throw new FormatError(`${join(hostDir, cert)}: client certificate without ${key}`);
      tls.cert = readFileSync(join(hostDir, cert));
      tls.key = readFileSync(join(hostDir, key));
    }
    for (const n of names) {
      if (n.endsWith(".key") && !names.includes(`${n.slice(0, -".key".length)}.cert`))
        throw new FormatError(`${join(hostDir, n)}: client key without a matching .cert`);
    }
    if (tls.ca !== undefined || tls.cert !== undefined) return tls;
  }
  return undefined;
}
