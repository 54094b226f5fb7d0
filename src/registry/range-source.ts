/** A registry blob as a `RangeSource` (src/formats/layer-index.ts) for the format readers and the pull engine. */
import type { ByteRange, RangeSource } from "../formats/layer-index.js";
import type { BlobRef } from "./context.js";

export interface RangeFetcher {
  fetchRanges(
    blob: BlobRef,
    ranges: readonly ByteRange[],
    options?: { signal?: AbortSignal; wholeBody?: "collect" | "hand-over" },
  ): Promise<Buffer[]>;
}

export function blobRangeSource(
  client: RangeFetcher,
  blob: BlobRef,
  size: number,
  options: { wholeBody?: "collect" | "hand-over" } = {},
): RangeSource {
  const sized: BlobRef = { ...blob, size };
  return {
    size,
    read(ranges: readonly ByteRange[], signal?: AbortSignal): Promise<Buffer[]> {
      return client.fetchRanges(sized, ranges, { ...options, ...(signal ? { signal } : {}) });
    },
  };
}
