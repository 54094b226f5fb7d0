/**
 * One tar-split entry (vbatts/tar-split v0.12.1 `storage.Entry`) and its JSON-lines encoding,
 * byte-identical to Go's json.Encoder output (spec §4.1): keys in struct order
 * type, name, name_raw, size, payload, position; `name`, `name_raw`, `size` omitted when empty;
 * `payload` always present (null for FileType entries without data).
 */
import { goJsonString } from "../go-json.js";

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

/** One JSON line (with the trailing "\n") as Go's json.Encoder.Encode(storage.Entry) writes it. */
export { goJsonString };

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
