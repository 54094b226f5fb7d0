/**
 * What both tar readers do with a header block that is not a zero block: the streaming reader
 * (reader.ts) and the tar-split's in-memory one (tarsplit/headers.ts) must judge the same bytes
 * the same way, with the same messages, so the checks live here once.
 */
import { FormatError } from "../../errors.js";
import { cString, detectFormat, FieldError, MAX_EXTENSION_SIZE } from "./block.js";
import { type Extensions, finishHeader, isHeaderOnlyType, parseBlock } from "./header.js";
import { PaxError, parsePaxRecords } from "./pax.js";
import type { TarHeader } from "./types.js";

/** A field or PAX error as a FormatError naming what was invalid and where; others rethrown. */
export function contextError(e: unknown, what: string, offset: number): never {
  if (e instanceof FieldError || e instanceof PaxError) {
    throw new FormatError(`tar: invalid ${what} at offset ${offset}: ${e.message}`, { cause: e });
  }
  throw e;
}

/**
 * The header in `block` (at `offset` of the tar): a known format, parseable, with a size that is
 * not negative for a type that carries data (Go checks the block's own size before any PAX
 * override) and an extension's data within MAX_EXTENSION_SIZE.
 */
export function checkedHeader(
  block: Buffer,
  offset: number,
): { h: TarHeader; format: Exclude<ReturnType<typeof detectFormat>, "unknown"> } {
  const format = detectFormat(block);
  if (format === "unknown") {
    throw new FormatError(
      `tar: invalid header at offset ${offset} (bad checksum or unknown format)`,
    );
  }
  let h: TarHeader;
  try {
    h = parseBlock(block, format);
  } catch (e) {
    contextError(e, "header", offset);
  }
  const t = h.typeflag;
  if (h.declaredSize < 0 && !isHeaderOnlyType(t)) {
    throw new FormatError(`tar: header at offset ${offset} has negative size ${h.declaredSize}`);
  }
  if (t === "x" || t === "g" || t === "L" || t === "K") {
    const size = h.declaredSize;
    if (size < 0 || size > MAX_EXTENSION_SIZE) {
      throw new FormatError(
        `tar: extension header ${JSON.stringify(t)} at offset ${offset} has size ${size} (limit ${MAX_EXTENSION_SIZE})`,
      );
    }
  }
  return { h, format };
}

/** Records an `x`, `L` or `K` extension's `data` for the header that follows it. */
export function applyExtension(t: string, data: Buffer, ext: Extensions, offset: number): void {
  try {
    if (t === "x") ext.pax = parsePaxRecords(data);
    else if (t === "L") ext.longName = Buffer.from(cString(data));
    else ext.longLink = Buffer.from(cString(data));
  } catch (e) {
    contextError(e, "PAX header", offset);
  }
}

/** finishHeader (the pending extensions applied to `h`), its errors placed at `offset`. */
export function finishedHeader(h: TarHeader, ext: Extensions, offset: number): void {
  try {
    finishHeader(h, ext);
  } catch (e) {
    contextError(e, `header of ${JSON.stringify(h.name)}`, offset);
  }
}
