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
  if (typeof s !== "string") throw new FormatError(`${what}: invalid base64`);
  // Canonical base64 (what every encoder writes) round-trips exactly: two native calls instead
  // of a regular expression over every character. Anything else gets the strict check.
  const out = Buffer.from(s, "base64");
  if (out.toString("base64") === s) return out;
  if (s.length % 4 !== 0 || !BASE64_RE.test(s)) throw new FormatError(`${what}: invalid base64`);
  return out;
}

/**
 * Whether `b64` is strict base64 given that node decoded it to `decoded` bytes, without
 * re-encoding: node skips characters outside the alphabet (and stops at misplaced padding), so
 * any of those yields fewer bytes than a string of this length and padding must; the URL-safe
 * `-` and `_`, which node also decodes, are checked for. False sends the line to the strict path.
 */
function decodedExactly(b64: string, decoded: number): boolean {
  const n = b64.length;
  if (n % 4 !== 0) return false;
  const pad =
    n > 0 && b64.charCodeAt(n - 1) === 0x3d ? (b64.charCodeAt(n - 2) === 0x3d ? 2 : 1) : 0;
  if (decoded !== (n / 4) * 3 - pad) return false;
  return b64.indexOf("-") === -1 && b64.indexOf("_") === -1;
}

const SEGMENT_PREFIX = Buffer.from('{"type":2,"payload":"');
const POSITION_KEY = Buffer.from('","position":');

/**
 * A segment line exactly as Go's encoder writes it, `{"type":2,"payload":"B64","position":N}`,
 * read straight from the bytes (the bulk of a tar-split, each line a base64 header block);
 * undefined for any other shape or value, which then takes the general path with its errors.
 */
function fastSegment(line: Buffer, expectedPosition: number): TarSplitEntry | undefined {
  const n = line.length;
  if (n < 40 || line[0] !== 0x7b || line[n - 1] !== 0x7d) return undefined;
  if (line.compare(SEGMENT_PREFIX, 0, SEGMENT_PREFIX.length, 0, SEGMENT_PREFIX.length) !== 0)
    return undefined;
  const end = line.indexOf(0x22, SEGMENT_PREFIX.length); // the closing quote of the payload
  if (
    end < 0 ||
    line.compare(POSITION_KEY, 0, POSITION_KEY.length, end, end + POSITION_KEY.length) !== 0
  )
    return undefined;
  const digits = end + POSITION_KEY.length;
  if (n - 1 - digits !== String(expectedPosition).length) return undefined;
  if (line.toString("latin1", digits, n - 1) !== String(expectedPosition)) return undefined;
  const b64 = line.toString("latin1", SEGMENT_PREFIX.length, end);
  const payload = Buffer.from(b64, "base64");
  if (!decodedExactly(b64, payload.length)) return undefined;
  return { type: 2, payload, position: expectedPosition };
}

/**
 * Go's path.Clean for a name that needs no segment dropped (only a trailing "/"), else
 * undefined; the duplicate check then takes the general path.
 */
function simpleClean(name: string): string | undefined {
  const n = name.length;
  const start = name.charCodeAt(0) === 0x2f ? 1 : 0;
  const end = n > start && name.charCodeAt(n - 1) === 0x2f ? n - 1 : n;
  if (end <= start) return undefined;
  let seg = start;
  for (let i = start; i <= end; i++) {
    if (i < end && name.charCodeAt(i) !== 0x2f) continue;
    const len = i - seg;
    if (len === 0) return undefined;
    if (
      name.charCodeAt(seg) === 0x2e &&
      (len === 1 || (len === 2 && name.charCodeAt(seg + 1) === 0x2e))
    )
      return undefined;
    seg = i + 1;
  }
  return end === n ? name : name.slice(0, end);
}

/** The duplicate-path key of a file entry (builder.ts duplicateKey, cheap for plain ASCII names). */
function nameKey(e: { name: string; nameRaw?: Buffer | undefined }): string {
  if (e.nameRaw === undefined && Buffer.byteLength(e.name) === e.name.length) {
    const fast = simpleClean(e.name);
    if (fast !== undefined) return fast;
  }
  return duplicateKey(entryNameBytes(e));
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

/** Line-by-line state shared by the streaming and the in-memory parser. */
class LineParser {
  private readonly seen = new Set<string>();
  lineNo = 0;
  private position = 0;

  /** One line without its "\n"; null for a blank line. */
  handle(bytes: Buffer): TarSplitEntry | null {
    this.lineNo++;
    if (bytes.length > MAX_LINE_LENGTH) {
      throw new LimitExceededError(
        `tar-split line ${this.lineNo} is longer than ${MAX_LINE_LENGTH} bytes`,
      );
    }
    let e = fastSegment(bytes, this.position);
    if (e === undefined) {
      const line = bytes.toString("utf8");
      if (line.trim() === "") return null;
      e = parseLine(line, this.lineNo, this.position);
    }
    this.position++;
    if (e.type === 1) {
      const key = nameKey(e);
      if (this.seen.has(key)) {
        throw duplicatePathError(e.nameRaw ? e.nameRaw.toString("utf8") : e.name);
      }
      this.seen.add(key);
    }
    return e;
  }
}

/** Parse a whole tar-split held in memory, synchronously (what the TOC check reads). */
export function* parseTarSplit(buf: Buffer): Generator<TarSplitEntry> {
  const p = new LineParser();
  let start = 0;
  while (start < buf.length) {
    let nl = buf.indexOf(0x0a, start);
    if (nl === -1) nl = buf.length;
    const e = p.handle(buf.subarray(start, nl));
    if (e !== null) yield e;
    start = nl + 1;
  }
}

/** Parse a tar-split stream (uncompressed JSON lines). */
export async function* readTarSplit(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<TarSplitEntry> {
  const p = new LineParser();
  let pending: Buffer[] = [];
  let pendingLength = 0;

  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    let buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    for (;;) {
      const nl = buf.indexOf(0x0a);
      if (nl === -1) {
        if (pendingLength + buf.length > MAX_LINE_LENGTH) {
          throw new LimitExceededError(
            `tar-split line ${p.lineNo + 1} is longer than ${MAX_LINE_LENGTH} bytes`,
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
      const e = p.handle(line);
      if (e !== null) yield e;
      buf = buf.subarray(nl + 1);
    }
  }
  if (pendingLength > 0) {
    const e = p.handle(Buffer.concat(pending));
    if (e !== null) yield e;
  }
}
