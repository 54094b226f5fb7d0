/** Shared helpers for the tar and tar-split tests: vector access and chunked streams. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readTar } from "../../src/formats/tar/reader.js";
import type { TarEvent, TarHeader } from "../../src/formats/tar/types.js";

/** test/fixtures/vectors, from dist/test/tar/*.js or test/tar/*.ts alike. */
export const VECTORS = fileURLToPath(new URL("../../../test/fixtures/vectors/", import.meta.url));

interface VectorIndex {
  cases: Record<string, { input_diff_id: string; input_size: number }>;
}

export const INDEX: VectorIndex = JSON.parse(readFileSync(VECTORS + "INDEX.json", "utf8"));
export const CASES = Object.keys(INDEX.cases).sort();

export function vectorFile(name: string, file: string): Buffer {
  return readFileSync(`${VECTORS}${name}/${file}`);
}

/** `buf` as an async stream of `size`-byte chunks (copies, so nothing aliases the input). */
export async function* chunked(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield new Uint8Array(buf.subarray(i, i + size));
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Every byte a TarEvent stream hands out, in order. */
export function eventBytes(events: TarEvent[]): Buffer {
  return Buffer.concat(
    events.map((e) => (e.type === "entry" || e.type === "end" ? e.raw : e.data)),
  );
}

export interface ParsedTar {
  headers: TarHeader[];
  /** Content of every entry with data, by name. */
  files: Map<string, Buffer>;
}

export async function parseTar(buf: Buffer): Promise<ParsedTar> {
  const headers: TarHeader[] = [];
  const files = new Map<string, Buffer>();
  let parts: Buffer[] = [];
  let current: TarHeader | undefined;
  const flush = () => {
    if (current && current.size > 0) files.set(current.name, Buffer.concat(parts));
    parts = [];
  };
  for await (const ev of readTar([buf])) {
    if (ev.type === "entry") {
      flush();
      current = ev.header;
      headers.push(ev.header);
    } else if (ev.type === "data") {
      parts.push(ev.data);
    } else {
      flush();
      current = undefined;
    }
  }
  flush();
  return { headers, files };
}
