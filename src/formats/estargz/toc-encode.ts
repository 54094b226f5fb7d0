/**
 * Encode a TOC exactly as the Go writer does (spec estargz.md §3.3): `json.MarshalIndent` with an
 * empty prefix and a TAB indent, keys in Go struct order, omitempty on everything but name/type,
 * sorted xattr keys, HTML-safe string escaping (Go >= 1.22 short escapes for \b and \f), nil
 * entry list as `null`, no trailing newline. Given identical offsets the bytes equal Go's.
 */
import { goJsonString, goSortedKeys as sortedKeys } from "../go-json.js";
import type { Toc, TocEntry } from "./toc.js";

export { goJsonString };

function encodeEntry(e: TocEntry, indent: string): string {
  const inner = `${indent}\t`;
  const lines: string[] = [
    `${inner}"name": ${goJsonString(e.name)}`,
    `${inner}"type": ${goJsonString(e.type)}`,
  ];
  const num = (key: string, v: number | undefined): void => {
    if (v) lines.push(`${inner}"${key}": ${v}`);
  };
  const str = (key: string, v: string | undefined): void => {
    if (v) lines.push(`${inner}"${key}": ${goJsonString(v)}`);
  };
  num("size", e.size);
  str("modtime", e.modtime);
  str("linkName", e.linkName);
  num("mode", e.mode);
  num("uid", e.uid);
  num("gid", e.gid);
  str("userName", e.userName);
  str("groupName", e.groupName);
  num("offset", e.offset);
  num("innerOffset", e.innerOffset);
  num("devMajor", e.devMajor);
  num("devMinor", e.devMinor);
  if (e.xattrs && Object.keys(e.xattrs).length > 0) {
    const xa = e.xattrs;
    const body = sortedKeys(xa).map(
      (k) => `${inner}\t${goJsonString(k)}: ${goJsonString(xa[k] ?? "")}`,
    );
    lines.push(`${inner}"xattrs": {\n${body.join(",\n")}\n${inner}}`);
  }
  str("digest", e.digest);
  num("chunkOffset", e.chunkOffset);
  num("chunkSize", e.chunkSize);
  str("chunkDigest", e.chunkDigest);
  return `${indent}{\n${lines.join(",\n")}\n${indent}}`;
}

/** The TOC JSON bytes (what `containerd.io/snapshot/stargz/toc.digest` hashes). */
export function encodeTocJson(toc: Toc): Buffer {
  const entries =
    toc.entries.length === 0
      ? "null"
      : `[\n${toc.entries.map((e) => encodeEntry(e, "\t\t")).join(",\n")}\n\t]`;
  return Buffer.from(`{\n\t"version": ${toc.version},\n\t"entries": ${entries}\n}`, "utf8");
}
