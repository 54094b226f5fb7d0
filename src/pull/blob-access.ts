/**
 * What the layer pipeline needs of a registry, and no more: one layer blob as ranges and as a
 * whole verified stream. The pull builds it from its RegistryClient; tests build it over a local
 * file, so every layer path runs without HTTP.
 */
import type { Readable } from "node:stream";
import type { RangeSource } from "../formats/layer-index.js";
import type { Descriptor } from "../oci/types.js";
import type { BlobRef } from "../registry/context.js";
import { RangeIgnoredError, type WholeBlobAnswer } from "../registry/errors.js";

export interface LayerBlob {
  /**
   * Ranges of the blob. An origin that ignores Range makes `read` reject with
   * RangeIgnoredError holding the unread whole-blob answer (the pipeline decides what to do).
   */
  readonly ranges: RangeSource;
  /** Ranges read from a Range-ignoring origin's whole body, up to the last one asked for. */
  readonly collect: RangeSource;
  /** The whole blob, its digest and size checked at the end of the stream. */
  open(signal?: AbortSignal): Promise<Readable>;
  /** Closes every whole-blob answer nobody took (reads ahead that met a Range-ignoring origin). */
  release(): void;
}

/** Opens layer blobs: one per descriptor. */
export type BlobOpener = (desc: Descriptor) => LayerBlob;

/** The narrow face of RegistryClient the pull uses (rangeSource, openBlob). */
export interface BlobClient {
  rangeSource(
    blob: BlobRef,
    size: number,
    options?: { wholeBody?: "collect" | "hand-over" },
  ): RangeSource;
  openBlob(blob: BlobRef, options?: { signal?: AbortSignal }): Promise<Readable>;
}

export function registryBlobs(
  client: BlobClient,
  repo: { registry: string; repository: string },
): BlobOpener {
  return (desc) => {
    const blob: BlobRef = { ...repo, digest: desc.digest, size: desc.size };
    const answers = trackAnswers(client.rangeSource(blob, desc.size, { wholeBody: "hand-over" }));
    return {
      ranges: answers.source,
      collect: client.rangeSource(blob, desc.size, { wholeBody: "collect" }),
      open: (signal) => client.openBlob(blob, signal ? { signal } : {}),
      release: answers.release,
    };
  };
}

/**
 * Remembers every whole-blob answer `source` hands over, so the ones no stage took (a request
 * read ahead, answered after another one already showed that Range is ignored) get closed.
 */
export function trackAnswers(source: RangeSource): { source: RangeSource; release(): void } {
  const answers: WholeBlobAnswer[] = [];
  return {
    source: {
      size: source.size,
      read: (ranges, signal) =>
        source.read(ranges, signal).catch((err: unknown) => {
          if (err instanceof RangeIgnoredError) answers.push(err.answer);
          throw err;
        }),
    },
    release: () => {
      for (const a of answers.splice(0)) a.discard();
    },
  };
}
