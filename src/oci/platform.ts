/**
 * Platform selection from an image index, with containerd/platforms normalisation
 * (`x86_64` -> amd64, `aarch64` -> arm64, bare `arm` -> arm/v7, ...) and its fallback order
 * (amd64/v3 also runs v2, v1 and 386; arm64 runs arm/v8..v5; arm/v7 runs v6, v5).
 */
import { ChunkpullError, UsageError } from "../errors.js";
import { isIndexMediaType, isManifestMediaType } from "./media-types.js";
import type { Descriptor, ImageIndex, Platform } from "./types.js";

/** No runnable manifest in the index matches the wanted platform; `available` lists what there is. */
export class PlatformNotFoundError extends ChunkpullError {
  readonly wanted: string;
  readonly available: string[];
  constructor(wanted: string, available: string[], subject = "image") {
    const list = available.length > 0 ? available.join(", ") : "none";
    super("EPLATFORM", `${subject} has no manifest for platform ${wanted}; available: ${list}`);
    this.wanted = wanted;
    this.available = available;
  }
}

export const ZSTD_INSTANCE_ANNOTATION = "io.github.containers.compression.zstd";

export function normalizeOs(os: string): string {
  const o = os.toLowerCase();
  return o === "macos" ? "darwin" : o;
}

/** containerd normalizeArch: canonical architecture and variant. */
export function normalizeArch(
  arch: string,
  variant = "",
): { architecture: string; variant: string } {
  const a = arch.toLowerCase();
  let v = variant.toLowerCase();
  switch (a) {
    case "i386":
      return { architecture: "386", variant: "" };
    case "x86_64":
    case "x86-64":
    case "amd64":
      return { architecture: "amd64", variant: v === "v1" ? "" : v };
    case "aarch64":
    case "arm64":
      if (v === "8" || v === "v8" || v === "v8.0") v = "";
      return { architecture: "arm64", variant: v };
    case "armhf":
      return { architecture: "arm", variant: "v7" };
    case "armel":
      return { architecture: "arm", variant: "v6" };
    case "arm":
      if (v === "" || v === "7") v = "v7";
      else if (v === "5" || v === "6" || v === "8") v = `v${v}`;
      return { architecture: "arm", variant: v };
    default:
      return { architecture: a, variant: v };
  }
}

export function normalizePlatform(p: Platform): Platform {
  const { architecture, variant } = normalizeArch(p.architecture, p.variant);
  const out: Platform = { ...p, os: normalizeOs(p.os), architecture };
  if (variant) out.variant = variant;
  else delete out.variant;
  return out;
}

export function formatPlatform(p: Platform): string {
  let s = `${p.os}/${p.architecture}`;
  if (p.variant) s += `/${p.variant}`;
  if (p["os.version"]) s += `:${p["os.version"]}`;
  return s;
}

/** Parse `os/arch[/variant][:osversion]`, e.g. `linux/arm64/v8`. */
export function parsePlatform(s: string): Platform {
  const [main = "", osVersion] = s.split(":", 2);
  const parts = main.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === "")) {
    throw new UsageError(`invalid platform ${JSON.stringify(s)}: expected os/arch[/variant]`);
  }
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2]) p.variant = parts[2];
  if (osVersion) p["os.version"] = osVersion;
  return normalizePlatform(p);
}

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(): Platform {
  const archMap: Record<string, string> = { x64: "amd64", ia32: "386", ppc64: "ppc64le" };
  const p: Platform = {
    os: process.platform === "win32" ? "windows" : process.platform,
    architecture: archMap[process.arch] ?? process.arch,
  };
  if (process.arch === "arm") {
    const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
    p.variant = `v${armVersion ?? 7}`;
  }
  return normalizePlatform(p);
}

/** Platforms that can run on `wanted`, best first (containerd platformVector). */
export function compatiblePlatforms(wanted: Platform): Platform[] {
  const p = normalizePlatform(wanted);
  const out: Platform[] = [p];
  const withVariant = (architecture: string, variant: string): Platform =>
    normalizePlatform({ os: p.os, architecture, variant });
  const num = (v: string | undefined): number => Number.parseInt((v ?? "").replace(/^v/, ""), 10);
  switch (p.architecture) {
    case "amd64": {
      const n = num(p.variant);
      if (n > 1) for (let i = n - 1; i >= 1; i--) out.push(withVariant("amd64", `v${i}`));
      out.push(withVariant("386", ""));
      break;
    }
    case "arm": {
      const n = num(p.variant);
      if (n >= 5) for (let i = n - 1; i >= 5; i--) out.push(withVariant("arm", `v${i}`));
      break;
    }
    case "arm64": {
      const m = /^v(\d+)(?:\.(\d+))?$/.exec(p.variant ?? "v8");
      const major = m ? Number(m[1]) : 8;
      const minor = m?.[2] !== undefined ? Number(m[2]) : 0;
      if (major === 9) {
        for (let i = minor - 1; i >= 0; i--)
          out.push(withVariant("arm64", i === 0 ? "v9" : `v9.${i}`));
        for (let i = minor + 5; i >= 0; i--)
          out.push(withVariant("arm64", i === 0 ? "v8" : `v8.${i}`));
      } else if (major === 8) {
        for (let i = minor - 1; i >= 0; i--)
          out.push(withVariant("arm64", i === 0 ? "v8" : `v8.${i}`));
      }
      for (let i = 8; i >= 5; i--) out.push(withVariant("arm", `v${i}`));
      break;
    }
  }
  return out;
}

function samePlatform(a: Platform, b: Platform): boolean {
  if (a.os !== b.os || a.architecture !== b.architecture || (a.variant ?? "") !== (b.variant ?? ""))
    return false;
  // os.version only matters when asked for (Windows images).
  return !a["os.version"] || a["os.version"] === b["os.version"];
}

/** Entries that are runnable images: a platform, not unknown/unknown (attestations), a known type. */
export function runnableEntries(index: ImageIndex): Descriptor[] {
  return index.manifests.filter(
    (d) =>
      d.platform !== undefined &&
      !(d.platform.os === "unknown" && d.platform.architecture === "unknown") &&
      (isManifestMediaType(d.mediaType) || isIndexMediaType(d.mediaType)),
  );
}

export interface SelectOptions {
  /** Only the exact (normalised) platform, no fallbacks (containerd OnlyStrict). */
  strict?: boolean;
  /** Among equally good entries prefer those annotated as zstd instances (default true: partial pulls need zstd:chunked). */
  preferZstd?: boolean;
}

/**
 * Pick the best entry for `wanted`: lowest fallback rank, then (optionally) the zstd instance,
 * then index order. Throws PlatformNotFoundError listing the runnable platforms.
 */
export function selectPlatform(
  index: ImageIndex,
  wanted: Platform,
  options: SelectOptions = {},
  subject = "image",
): Descriptor {
  const vector = options.strict ? [normalizePlatform(wanted)] : compatiblePlatforms(wanted);
  const preferZstd = options.preferZstd ?? true;
  let best: { d: Descriptor; rank: number; zstd: boolean } | undefined;
  for (const d of runnableEntries(index)) {
    const candidate = normalizePlatform(d.platform!);
    const rank = vector.findIndex((w) => samePlatform(w, candidate));
    if (rank === -1) continue;
    const zstd = preferZstd && d.annotations?.[ZSTD_INSTANCE_ANNOTATION] === "true";
    if (!best || rank < best.rank || (rank === best.rank && zstd && !best.zstd))
      best = { d, rank, zstd };
  }
  if (!best) {
    const available = [
      ...new Set(runnableEntries(index).map((d) => formatPlatform(normalizePlatform(d.platform!)))),
    ];
    throw new PlatformNotFoundError(formatPlatform(normalizePlatform(wanted)), available, subject);
  }
  return best.d;
}
