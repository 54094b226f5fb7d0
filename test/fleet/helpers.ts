/**
 * Fleet test setup: an origin `docker-registry` holding the sample images behind a counting
 * proxy (what the origin sends), pull-through caches (`docker-registry` in proxy mode) in
 * front of it, configuration files written from the fixtures' templates, and clients that read
 * only those files (never the machine's /etc).
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ImageSink, pushImage } from "../../mock-registry/src/image/build.js";
import { CapabilityStore } from "../../src/registry/capabilities.js";
import {
  createRegistryClient,
  type RegistryClient,
  type RegistryClientOptions,
} from "../../src/registry/client.js";
import { type CountingProxy, startCountingProxy } from "../helpers/counting-proxy.js";
import {
  type DockerRegistry,
  type DockerRegistryOptions,
  startDockerRegistry,
} from "../helpers/docker-registry.js";
import { type SampleImages, sampleImages } from "../pull/helpers.js";

export const TEMPLATES = join(
  dirname(fileURLToPath(import.meta.url)),
  "../../../test/fixtures/fleet/templates",
);
export const REPO = "fleet/app";

export interface Origin {
  registry: DockerRegistry;
  counting: CountingProxy;
  images: SampleImages;
  close(): Promise<void>;
}

function clientSink(client: RegistryClient, registry: string): ImageSink {
  return {
    putBlob: (repository, data) => client.pushBlob({ registry, repository }, Buffer.from(data)),
    putManifest: (repository, reference, body, mediaType) =>
      client.pushManifest({ registry, repository }, reference, Buffer.from(body), mediaType),
  };
}

/** The origin with v1 and v2 of the sample app, and a counting proxy in front of it. */
export async function startOrigin(): Promise<Origin> {
  const registry = await startDockerRegistry();
  const images = await sampleImages("zstd:chunked");
  const c = fleetClient({});
  try {
    await pushImage(clientSink(c, registry.host), REPO, "v1", images.v1);
    await pushImage(clientSink(c, registry.host), REPO, "v2", images.v2);
  } finally {
    await c.close();
  }
  const counting = await startCountingProxy(registry.url);
  return {
    registry,
    counting,
    images,
    close: async () => {
      await counting.close();
      await registry.close();
    },
  };
}

/** A pull-through cache in front of `upstream` (the counting proxy). */
export function startCache(
  upstream: string,
  extra: Omit<DockerRegistryOptions, "proxy"> = {},
): Promise<DockerRegistry> {
  return startDockerRegistry({ ...extra, proxy: { remoteurl: upstream } });
}

/** A client that reads only the configuration it is given; quick retries (mirrors go down). */
export function fleetClient(options: RegistryClientOptions): RegistryClient {
  return createRegistryClient({
    noSystemConfig: true,
    noAuthFiles: true,
    capabilities: new CapabilityStore(),
    retries: { retries: 1, baseDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
}

/** Fill a template from test/fixtures/fleet/templates. */
export async function fromTemplate(name: string, vars: Record<string, string>): Promise<string> {
  let text = await readFile(join(TEMPLATES, name), "utf8");
  for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`{{${k}}}`, v);
  return text;
}

/** A registries.conf naming `mirror` (host:port) as the origin's mirror; returns its path. */
export async function registriesConf(
  origin: string,
  mirror: string,
  pullFromMirror = "all",
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "chunkpull-fleet-conf-"));
  const path = join(dir, "registries.conf");
  await writeFile(
    path,
    await fromTemplate("registries.conf", { ORIGIN: origin, MIRROR: mirror, PULL: pullFromMirror }),
  );
  return path;
}

/** A containerd hosts directory for `origin` with one mirror; returns the directory. */
export async function hostsDir(
  origin: string,
  mirrorUrl: string,
  opts: { capabilities?: string[]; extra?: string } = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "chunkpull-fleet-hosts-"));
  await mkdir(join(dir, origin));
  const text = await fromTemplate("hosts.toml", {
    ORIGIN: origin,
    MIRROR_URL: mirrorUrl,
    CAPABILITIES: JSON.stringify(opts.capabilities ?? ["pull", "resolve"]),
    MIRROR_EXTRA: opts.extra ?? "",
  });
  await writeFile(join(dir, origin, "hosts.toml"), text);
  return dir;
}

/** A self-signed certificate for 127.0.0.1 (it is its own CA). */
export async function selfSignedCert(): Promise<{ dir: string; cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), "chunkpull-fleet-tls-"));
  const cert = join(dir, "server.crt");
  const key = join(dir, "server.key");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      "/CN=chunkpull fleet test",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  return { dir, cert, key };
}
