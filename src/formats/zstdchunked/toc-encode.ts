/**
 * Encode a TOC exactly like c/storage's writer: jsoniter ConfigCompatibleWithStandardLibrary,
 * i.e. Go encoding/json output (compact, struct field order of spec §3.2, omitempty, sorted map
 * keys, HTML-safe escaping). Only the offsets and the compressed digests then differ from Go.
 */
import { EMPTY_SHA256 } from "../../digest.js";
import type { Toc, TocEntry } from "./toc.js";

const HEX = "0123456789abcdef";

/** A JSON string literal as jsoniter (Go <= 1.21 encoding/json rules, EscapeHTML on) writes it. */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0x22) out += '\\"';
      else if (c === 0x5c) out += "\\\\";
      else if (c === 0x0a) out += "\\n";
      else if (c === 0x0d) out += "\\r";
      else if (c === 0x09) out += "\\t";
      else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
        out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
      } else out += s[i];
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
      out += "\\ufffd"; // Go writes invalid UTF-8 (a lone surrogate here) as U+FFFD, escaped
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) out += "\\ufffd";
    else if (c === 0x2028 || c === 0x2029) out += `\\u202${HEX[c & 15]}`;
    else out += s[i];
  }
  return `${out}"`;
}

/** Go sorts map keys by their UTF-8 bytes, which differs from UTF-16 order for astral planes. */
function sortedKeys(m: Record<string, string>): string[] {
  return Object.keys(m).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function encodeEntry(e: TocEntry): string {
  const parts = [`"type":${goJsonString(e.type)}`, `"name":${goJsonString(e.name)}`];
  const s = (key: string, v: string | undefined) => {
    if (v) parts.push(`"${key}":${goJsonString(v)}`);
  };
  const n = (key: string, v: number) => {
    if (v !== 0) parts.push(`"${key}":${v}`);
  };
  s("linkName", e.linkName);
  n("mode", e.mode);
  n("size", e.size);
  n("uid", e.uid);
  n("gid", e.gid);
  s("modtime", e.modtime);
  s("accesstime", e.accesstime);
  s("changetime", e.changetime);
  n("devMajor", e.devMajor);
  n("devMinor", e.devMinor);
  if (e.xattrs && Object.keys(e.xattrs).length > 0) {
    const xa = e.xattrs;
    const body = sortedKeys(xa).map((k) => `${goJsonString(k)}:${goJsonString(xa[k]!)}`);
    parts.push(`"xattrs":{${body.join(",")}}`);
  }
  // parseToc fills in the empty-file digest; Go's writer never emits one for empty files.
  const emptyDefault = e.type === "reg" && e.size === 0 && e.digest === EMPTY_SHA256;
  if (!emptyDefault) s("digest", e.digest);
  n("offset", e.offset);
  n("endOffset", e.endOffset);
  n("chunkSize", e.chunkSize);
  n("chunkOffset", e.chunkOffset);
  s("chunkDigest", e.chunkDigest);
  s("chunkType", e.chunkType);
  return `{${parts.join(",")}}`;
}

/** The TOC JSON text; an empty entry list is `null` as Go marshals a nil slice. */
export function encodeToc(toc: Toc): string {
  const entries = toc.entries.length === 0 ? "null" : `[${toc.entries.map(encodeEntry).join(",")}]`;
  let out = `{"version":${toc.version},"entries":${entries}`;
  if (toc.tarSplitDigest) out += `,"tarSplitDigest":${goJsonString(toc.tarSplitDigest)}`;
  return `${out}}`;
}
