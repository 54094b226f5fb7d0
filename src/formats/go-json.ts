/**
 * JSON string literals exactly as Go writes them with HTML escaping on, so our TOCs and
 * tar-splits are byte-identical to the reference writers': `"` and `\` escaped, `<` `>` `&` as
 * \u003c \u003e \u0026, U+2028/U+2029 escaped, other control characters as \n \r \t or \u00XX,
 * and lone surrogates (what invalid UTF-8 becomes in JavaScript) as \ufffd.
 *
 * Go 1.22 added the short forms \b and \f; jsoniter (which c/storage's TOC writer uses) and
 * older Go write \u0008 and \u000c. `shortBF` picks between them.
 */
const HEX = "0123456789abcdef";

export function goJsonString(s: string, shortBF = true): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      esc = escapeAscii(c, shortBF);
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
  return `${out}${s.slice(start)}"`;
}

function escapeAscii(c: number, shortBF: boolean): string {
  switch (c) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return "\\\\";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x08:
      if (shortBF) return "\\b";
      break;
    case 0x0c:
      if (shortBF) return "\\f";
      break;
  }
  return `\\u00${HEX[c >> 4]}${HEX[c & 0xf]}`;
}

/** Go sorts map keys by their UTF-8 bytes, which differs from UTF-16 order for astral planes. */
export function goSortedKeys(m: Record<string, string>): string[] {
  return Object.keys(m).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
