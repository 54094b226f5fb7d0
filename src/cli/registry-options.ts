/**
 * Options shared by every command that talks to a registry (pull, inspect; later push). A new
 * registry option is one entry in REGISTRY_OPTIONS and one line in registryOptions().
 */
import { UsageError } from "../errors.js";
import { platformMatches } from "../inspect/inspect-image.js";
import { formatPlatform, normalizePlatform, parsePlatform } from "../oci/platform.js";
import { str } from "./args.js";
import type { Invocation, OptionSpec } from "./spec.js";

export const REGISTRY_OPTIONS: OptionSpec[] = [
  {
    name: "platform",
    type: "string",
    value: "OS/ARCH[/VARIANT]",
    description:
      "platform to pick from a multi-platform image; a single-platform image for another platform is pulled with a warning (as podman does)",
    default: "this machine's",
  },
  {
    name: "plain-http",
    type: "boolean",
    description: "talk HTTP, not HTTPS, to the registry (loopback registries always use HTTP)",
  },
  {
    name: "creds",
    type: "string",
    value: "USER:PASSWORD",
    description:
      "credentials for the image's registry only (mirrors get their own from the auth files); without it: $REGISTRY_AUTH_FILE, containers auth.json, then ~/.docker/config.json",
  },
  {
    name: "registries-conf",
    type: "string",
    value: "FILE",
    description:
      "containers registries.conf (mirrors, short-name search, blocked registries) instead of the system's",
    default: "$CONTAINERS_REGISTRIES_CONF, else ~/.config/containers or /etc/containers",
  },
  {
    name: "hosts-dir",
    type: "string",
    value: "DIR",
    description: "containerd hosts.d directory (<host>/hosts.toml: mirrors, capabilities, CAs)",
    default: "/etc/containerd/certs.d",
  },
];

export interface RegistryCliOptions {
  platform?: string;
  plainHttp?: boolean;
  credentials?: { username: string; password: string; source?: string };
  registryConfig?: { registriesConf?: string; hostsDir?: string };
}

export function registryOptions(values: Invocation["values"]): RegistryCliOptions {
  const out: RegistryCliOptions = {};
  const platform = str(values, "platform");
  if (platform !== undefined) {
    parsePlatform(platform); // a malformed platform is a usage error before any request
    out.platform = platform;
  }
  if (values["plain-http"] === true) out.plainHttp = true;
  const creds = str(values, "creds");
  if (creds !== undefined) {
    const i = creds.indexOf(":");
    if (i <= 0) throw new UsageError("--creds must be USER:PASSWORD");
    out.credentials = {
      username: creds.slice(0, i),
      password: creds.slice(i + 1),
      source: "--creds",
    };
  }
  const registriesConf = str(values, "registries-conf");
  const hostsDir = str(values, "hosts-dir");
  if (registriesConf !== undefined || hostsDir !== undefined) {
    out.registryConfig = {
      ...(registriesConf !== undefined ? { registriesConf } : {}),
      ...(hostsDir !== undefined ? { hostsDir } : {}),
    };
  }
  return out;
}

/** The asked-for platform when the pulled image is for another one (no fallback rule covers). */
export function platformMismatch(
  wanted: string,
  result: { platform: string },
): { wanted: string; actual: string } | undefined {
  const w = parsePlatform(wanted);
  const a = parsePlatform(result.platform.split(":")[0]!);
  if (platformMatches(w, a)) return undefined;
  return { wanted: formatPlatform(normalizePlatform(w)), actual: result.platform };
}

export function platformWarning(m: { wanted: string; actual: string }, done = true): string {
  const what = done ? "pulled it anyway, as podman does" : "a pull takes it anyway, as podman does";
  return `warning: the image is for ${m.actual} only, not ${m.wanted} (it has no platform list); ${what} [EPLATFORM]`;
}
