/**
 * Encode a TOC exactly like c/storage's writer: jsoniter ConfigCompatibleWithStandardLibrary,
 * i.e. Go encoding/json output (compact, struct field order of spec §3.2, omitempty, sorted map
 * keys, HTML-safe escaping). Only the offsets and the compressed digests then differ from Go.
 */
import { EMPTY_SHA256 } from "../../digest.js";
import { goJsonString as goJson, goSortedKeys as sortedKeys } from "../go-json.js";
import type { Toc, TocEntry } from "./toc.js";

/** jsoniter (c/storage's TOC encoder) follows pre-1.22 Go: \u0008 and \u000c, not \b and \f. */
export const goJsonString = (s: string): string => goJson(s, false);

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
