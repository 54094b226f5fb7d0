/**
 * Streaming tar-split reader: JSON lines -> TarSplitEntry, with the validation a hostile
 * tar-split needs (Go's jsonUnpacker only checks duplicates; we also check types, positions,
 * base64 and CRC lengths so that errors surface here rather than as a wrong tar later).
 */
import { FormatError, LimitExceededError } from "../../errors.js";
import { duplicateKey, duplicatePathError } from "./builder.js";
import { entryNameBytes, type TarSplitEntry } from "./entry.js";

/**
 * Longest accepted line. Segments hold at most one entry's headers (PAX/GNU data is capped at
 * 1 MiB each by the tar reader, 8 MiB per entry) or 1 MiB of trailing bytes, base64-encoded.
 */
export const MAX_LINE_LENGTH = 16 << 20;

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(s: unknown, what: string): Buffer {
  if (typeof s !== "string" || s.length % 4 !== 0 || !BASE64_RE.test(s)) {
    throw new FormatError(`${what}: invalid base64`);
  }
  return Buffer.from(s, "base64");
}

function parseLine(line: string, lineNo: number, expectedPosition: number): TarSplitEntry {
  const where = `tar-split line ${lineNo}`;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new FormatError(`${where}: malformed JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new FormatError(`${where}: not a JSON object`);
  }
  const o = v as Record<string, unknown>;
  if (o.position !== expectedPosition) {
    throw new FormatError(
      `${where}: position ${JSON.stringify(o.position)}, expected ${expectedPosition}`,
    );
  }
  if (o.type === 2) {
    // Go decodes a null/absent payload as an empty segment; accept it the same way.
    const payload =
      o.payload === null || o.payload === undefined
        ? Buffer.alloc(0)
        : decodeBase64(o.payload, `${where} payload`);
    return { type: 2, payload, position: expectedPosition };
  }
  if (o.type !== 1) throw new FormatError(`${where}: unknown entry type ${JSON.stringify(o.type)}`);
  const name = o.name ?? "";
  if (typeof name !== "string") throw new FormatError(`${where}: name is not a string`);
  const size = o.size ?? 0;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new FormatError(`${where}: invalid size ${JSON.stringify(size)}`);
  }
  let payload: Buffer | null = null;
  if (o.payload !== null && o.payload !== undefined) {
    payload = decodeBase64(o.payload, `${where} payload`);
    if (payload.length !== 8)
      throw new FormatError(`${where}: CRC-64 payload has ${payload.length} bytes, expected 8`);
  } else if (size > 0) {
    throw new FormatError(`${where}: file ${JSON.stringify(name)} has size ${size} but no CRC-64`);
  }
  const e: TarSplitEntry = { type: 1, name, size, payload, position: expectedPosition };
  if (o.name_raw !== undefined && o.name_raw !== null) {
    const raw = decodeBase64(o.name_raw, `${where} name_raw`);
    if (raw.length > 0) e.nameRaw = raw;
  }
  return e;
}

/** Parse a tar-split stream (uncompressed JSON lines). */
export async function* readTarSplit(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<TarSplitEntry> {
  const seen = new Set<string>();
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let lineNo = 0;
  let position = 0;

  const handle = (bytes: Buffer): TarSplitEntry | null => {
    lineNo++;
    const line = bytes.toString("utf8");
    if (line.trim() === "") return null;
    const e = parseLine(line, lineNo, position);
    position++;
    if (e.type === 1) {
      const key = duplicateKey(entryNameBytes(e));
      if (seen.has(key)) throw duplicatePathError(e.nameRaw ? e.nameRaw.toString("utf8") : e.name);
      seen.add(key);
    }
    return e;
  };

  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    let buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl === -1) {
        if (pendingLength + buf.length > MAX_LINE_LENGTH) {
          throw new LimitExceededError(
            `tar-split line ${lineNo + 1} is longer than ${MAX_LINE_LENGTH} bytes`,
          );
        }
        if (buf.length > 0) {
          pending.push(buf);
          pendingLength += buf.length;
        }
        break;
      }
      let line = buf.subarray(0, nl);
      if (pendingLength > 0) {
        line = Buffer.concat([...pending, line]);
        pending = [];
        pendingLength = 0;
      }
      if (line.length > MAX_LINE_LENGTH) {
        throw new LimitExceededError(
          `tar-split line ${lineNo + 1} is longer than ${MAX_LINE_LENGTH} bytes`,
        );
      }
      const e = handle(line);
      if (e !== null) yield e;
      buf = buf.subarray(nl + 1);
    }
  }
  if (pendingLength > 0) {
    const e = handle(Buffer.concat(pending));
    if (e !== null) yield e;
  }
}
