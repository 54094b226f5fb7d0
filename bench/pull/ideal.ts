/**
 * The ideal bytes of a partial pull, from the layers' TOCs alone (independent of any client's
 * store): the compressed TOC and tar-split of the new layer, plus the compressed ranges of the
 * chunks whose content none of the earlier layers of the chain has (a file known whole skips
 * all its chunks; each new chunk counted once).
 */
import { openChunkedLayer } from "../../src/formats/open.js";
import { createRegistryClient } from "../../src/registry/client.js";

export interface LayerRef {
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export class IdealCounter {
  private readonly client = createRegistryClient({ plainHttp: true });
  private readonly known = new Set<string>();

  constructor(private readonly host: string) {}

  private async open(repo: string, l: LayerRef) {
    const src = this.client.rangeSource(
      { registry: this.host, repository: repo, digest: l.digest as never, size: l.size },
      l.size,
    );
    return openChunkedLayer(src, l.annotations);
  }

  /** Ideal bytes to pull `layer` after everything `remember`ed; then remembers it. */
  async pull(repo: string, layer: LayerRef, alreadyHave: boolean): Promise<number | undefined> {
    const opened = await this.open(repo, layer);
    // eStargz's TOC sits in the blob's tail next to the footer: counted only for zstd:chunked.
    let ideal: number | undefined = opened.format === "zstd:chunked" ? 0 : undefined;
    if (!alreadyHave && ideal !== undefined && opened.format === "zstd:chunked") {
      ideal += opened.tocPosition.length + (opened.tarSplitPosition?.length ?? 0);
      const seen = new Set<string>();
      for (const f of opened.files) {
        if (this.known.has(f.digest)) continue;
        for (const c of f.chunks) {
          const d = c.digest ?? (c.fileOffset === 0 && c.size === f.size ? f.digest : undefined);
          if (c.zeros || (d && (seen.has(d) || this.known.has(d)))) continue;
          if (d) seen.add(d);
          ideal += c.end - c.offset;
        }
      }
    }
    for (const f of opened.files) {
      this.known.add(f.digest);
      for (const c of f.chunks) if (c.digest) this.known.add(c.digest);
    }
    return ideal;
  }

  forget(): void {
    this.known.clear();
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
