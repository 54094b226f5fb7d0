/**
 * One tar-split entry (vbatts/tar-split v0.12.1 `storage.Entry`) and its JSON-lines encoding,
 * byte-identical to Go's json.Encoder output (spec §4.1): keys in struct order
 * type, name, name_raw, size, payload, position; `name`, `name_raw`, `size` omitted when empty;
 * `payload` always present (null for FileType entries without data).
 */

export type TarSplitEntry =
  /** FileType: a placeholder for a file's payload; payload = CRC-64 (8 bytes) or null when size 0. */
  | {
      type: 1;
      name: string;
      nameRaw?: Buffer;
      size: number;
      payload: Buffer | null;
      position: number;
    }
  /** SegmentType: raw archive bytes (headers, padding, end blocks, trailing bytes). */
  | { type: 2; payload: Buffer; position: number };

export const FILE_TYPE = 1;
export const SEGMENT_TYPE = 2;

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Go's utf8.Valid: same rules as a fatal WHATWG decoder (no surrogates, no overlongs). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    utf8Strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * The entry's name as raw bytes (Go's GetName: name_raw when non-empty, else name). Names of
 * tar entries are byte strings, so this is the faithful form.
 */
export function entryNameBytes(e: { name: string; nameRaw?: Buffer | undefined }): Buffer {
  return e.nameRaw !== undefined && e.nameRaw.length > 0 ? e.nameRaw : Buffer.from(e.name, "utf8");
}

/**
 * The entry's name as a JavaScript string: `name`, or `name_raw` decoded lossily (invalid bytes
 * become U+FFFD, as Go's JSON encoder does when such a name lands in a TOC).
 */
export function entryName(e: { name: string; nameRaw?: Buffer | undefined }): string {
  return e.nameRaw !== undefined && e.nameRaw.length > 0 ? e.nameRaw.toString("utf8") : e.name;
}

/** Build a FileType entry from raw name bytes, choosing `name` or `name_raw` like Entry.SetName. */
export function fileEntry(
  nameBytes: Buffer,
  size: number,
  payload: Buffer | null,
  position: number,
): TarSplitEntry {
  if (isValidUtf8(nameBytes)) {
    return { type: 1, name: nameBytes.toString("utf8"), size, payload, position };
  }
  return { type: 1, name: "", nameRaw: nameBytes, size, payload, position };
}

const HEX = "0123456789abcdef";

/**
 * A JSON string literal exactly as Go's encoding/json writes it with HTML escaping on (the
 * json.Encoder default): <, >, & as \u003c \u003e \u0026; U+2028/U+2029 escaped; control
 * characters as \n \r \t \b \f (Go >= 1.22) or \u00XX; lone surrogates (JavaScript's
 * equivalent of invalid UTF-8) as \ufffd.
 */
export function goJsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      switch (c) {
        case 0x22:
          esc = '\\"';
          break;
        case 0x5c:
          esc = "\\\\";
          break;
        case 0x0a:
          esc = "\\n";
          break;
        case 0x0d:
          esc = "\\r";
          break;
        case 0x09:
          esc = "\\t";
          break;
        case 0x08:
          esc = "\\b";
          break;
        case 0x0c:
          esc = "\\f";
          break;
        default:
          esc = "\\u00" + HEX[c >> 4] + HEX[c & 0xf];
      }
    } else if (c === 0x2028 || c === 0x2029) {
      esc = c === 0x2028 ? "\\u2028" : "\\u2029";
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid surrogate pair is copied as is
        continue;
      }
      esc = "\\ufffd";
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

/** One JSON line (with the trailing "\n") as Go's json.Encoder.Encode(storage.Entry) writes it. */
export function encodeEntry(e: TarSplitEntry): string {
  let line = '{"type":' + e.type;
  if (e.type === 1) {
    if (e.name !== "") line += ',"name":' + goJsonString(e.name);
    if (e.nameRaw !== undefined && e.nameRaw.length > 0) {
      line += ',"name_raw":"' + e.nameRaw.toString("base64") + '"';
    }
    if (e.size !== 0) line += ',"size":' + e.size;
  }
  const payload = e.payload;
  line += ',"payload":' + (payload === null ? "null" : '"' + payload.toString("base64") + '"');
  return line + ',"position":' + e.position + "}\n";
}
