/**
 * Which token realm may see a registry's credentials. A Bearer challenge names its token
 * server (`realm`); a hostile or compromised registry can name any host there, so the
 * registry's credentials go only to a realm on the registry's own host, or to a realm known to
 * serve that registry (Docker Hub's `auth.docker.io`). Every other realm gets the credentials
 * the configuration names for the realm's own host, usually none (an anonymous token).
 * Credentials never go to a plain-HTTP realm of an HTTPS registry.
 */
import { normalizeRegistry } from "../../reference.js";

/** Token servers on another host that are part of the registry itself. */
const KNOWN_REALM_HOSTS: Readonly<Record<string, readonly string[]>> = {
  "docker.io": ["auth.docker.io"],
};

export type RealmTrust = "home" | "foreign" | "downgrade";

/** How the realm relates to the registry host that challenged us. */
export function realmTrust(registryUrl: URL, realm: string | undefined): RealmTrust {
  let url: URL;
  try {
    url = new URL(realm ?? "");
  } catch {
    // Not a URL: the token fetch fails on it before anything is sent.
    return "foreign";
  }
  if (registryUrl.protocol === "https:" && url.protocol !== "https:") return "downgrade";
  const registry = normalizeRegistry(registryUrl.host);
  const realmHost = url.host.toLowerCase();
  if (normalizeRegistry(realmHost) === registry) return "home";
  if (KNOWN_REALM_HOSTS[registry]?.includes(realmHost)) return "home";
  return "foreign";
}

/** The host of a realm URL (for a credentials lookup), or undefined when it is not a URL. */
export function realmHost(realm: string | undefined): string | undefined {
  try {
    return new URL(realm ?? "").host.toLowerCase();
  } catch {
    return undefined;
  }
}
