/** Request accounting: one record per request plus totals per blob and overall. */
import type { BlobStats, MockStats, RequestRecord } from "./types.js";

function emptyTotals(): MockStats["totals"] {
  return {
    requests: 0,
    bytesSent: 0,
    blobBytesSent: 0,
    manifestRequests: 0,
    blobRequests: 0,
    rangeRequests: 0,
    redirects: 0,
    byStatus: {},
  };
}

export class StatsRecorder {
  #seq = 0;
  #records: RequestRecord[] = [];
  #blobs = new Map<string, BlobStats>();
  #totals = emptyTotals();
  readonly #maxRecords: number;

  constructor(maxRecords = 100_000) {
    this.#maxRecords = maxRecords;
  }

  /** Start a record at arrival (so records stay in arrival order); finish() completes it. */
  begin(
    fields: Pick<RequestRecord, "method" | "path" | "origin" | "kind"> & Partial<RequestRecord>,
  ): RequestRecord {
    const rec: RequestRecord = {
      seq: ++this.#seq,
      time: Date.now(),
      status: 0,
      bytesSent: 0,
      redirected: false,
      aborted: false,
      authorization: false,
      ...fields,
    };
    this.#records.push(rec);
    if (this.#records.length > this.#maxRecords) this.#records.shift();
    return rec;
  }

  finish(rec: RequestRecord): void {
    const t = this.#totals;
    t.requests++;
    t.bytesSent += rec.bytesSent;
    t.byStatus[String(rec.status)] = (t.byStatus[String(rec.status)] ?? 0) + 1;
    if (rec.range !== undefined) t.rangeRequests++;
    if (rec.redirected) t.redirects++;
    if (rec.kind === "manifest") t.manifestRequests++;
    if (rec.kind !== "blob" || rec.digest === undefined) return;
    t.blobRequests++;
    t.blobBytesSent += rec.bytesSent;
    if (rec.redirected) return; // the bytes are counted where they flow: the storage origin
    let b = this.#blobs.get(rec.digest);
    if (!b) {
      b = { digest: rec.digest, requests: 0, rangeRequests: 0, bytesSent: 0, fullBodies: 0 };
      this.#blobs.set(rec.digest, b);
    }
    b.requests++;
    if (rec.range !== undefined) b.rangeRequests++;
    b.bytesSent += rec.bytesSent;
    if (rec.status === 200 && rec.method === "GET") b.fullBodies++;
  }

  snapshot(): MockStats {
    return structuredClone({
      requests: this.#records,
      blobs: Object.fromEntries(this.#blobs),
      totals: this.#totals,
    });
  }

  reset(): void {
    this.#records = [];
    this.#blobs.clear();
    this.#totals = emptyTotals();
  }
}
