/**
 * The configuration files operators already keep for podman/skopeo (registries.conf) and
 * containerd (hosts.toml directories, certs.d), read once when a client is created: the files
 * are small, and the per-host TLS settings must be known before the first connection.
 */
import { existsSync } from "node:fs";
import { defaultCertsDirs, readCertsDir } from "./certs-d.js";
import { DEFAULT_HOSTS_DIR } from "./hosts-toml.js";
import {
  defaultRegistriesConfPaths,
  emptyRegistriesConf,
  explicitRegistriesConfPaths,
  loadRegistriesConf,
  type RegistriesConf,
} from "./registries-conf.js";

export { type HostsConfig, type HostsEntry, loadHostsDir, parseHostsToml } from "./hosts-toml.js";
export {
  type ConfMirror,
  type ConfRegistry,
  findRegistry,
  type PullFromMirror,
  parseRegistriesConf,
  type RegistriesConf,
} from "./registries-conf.js";
export { defaultCertsDirs, readCertsDir };

export interface RegistryConfigOptions {
  /** A registries.conf to read (with its `FILE.d/` drop-ins) instead of the usual paths; false: none. */
  registriesConf?: string | false;
  /** containerd hosts directories instead of `/etc/containerd/certs.d`; false: none. */
  hostsDir?: string | string[] | false;
  /** certs.d directories instead of the usual ones; false: none. */
  certsDirs?: string[] | false;
  /** Read nothing from the usual system and user paths (only what is named explicitly). */
  noSystemConfig?: boolean;
  /** Environment for the default paths (tests). */
  env?: NodeJS.ProcessEnv;
}

export interface LoadedRegistryConfig {
  registriesConf: RegistriesConf;
  hostsDirs: string[];
  certsDirs: string[];
}

export function loadRegistryConfig(o: RegistryConfigOptions = {}): LoadedRegistryConfig {
  const system = o.noSystemConfig !== true;
  let registriesConf = emptyRegistriesConf();
  if (typeof o.registriesConf === "string") {
    registriesConf = loadRegistriesConf(
      explicitRegistriesConfPaths(o.registriesConf),
      o.registriesConf,
    );
  } else if (o.registriesConf === undefined && system) {
    registriesConf = loadRegistriesConf(defaultRegistriesConfPaths(o.env));
  }
  const hostsDirs =
    o.hostsDir === false
      ? []
      : o.hostsDir !== undefined
        ? [o.hostsDir].flat()
        : system && existsSync(DEFAULT_HOSTS_DIR)
          ? [DEFAULT_HOSTS_DIR]
          : [];
  const certsDirs =
    o.certsDirs === false ? [] : (o.certsDirs ?? (system ? defaultCertsDirs(o.env) : []));
  // containerd keeps docker-style certificates next to hosts.toml: those directories count too.
  return { registriesConf, hostsDirs, certsDirs: [...new Set([...certsDirs, ...hostsDirs])] };
}

/**
 * Apply `unqualified-search-registries` to a name without a registry host (`alpine`,
 * `library/alpine`): the first listed registry is used (chunkpull does not guess among several).
 */
export function qualifyReference(input: string, conf: RegistriesConf): string {
  const search = conf.unqualifiedSearchRegistries ?? [];
  if (search.length === 0) return input;
  const slash = input.indexOf("/");
  const first = slash === -1 ? "" : input.slice(0, slash);
  const qualified =
    slash !== -1 && (first.includes(".") || first.includes(":") || first === "localhost");
  return qualified ? input : `${search[0]}/${input}`;
}
