/**
 * RFC 3339 times as Go's encoding/json reads and writes them (time.Time): nanosecond precision,
 * which a JavaScript Date cannot hold (spec §3.6: PAX mtimes with sub-millisecond fractions must
 * compare equal between TOC and tar-split).
 */
import { FormatError, UnsupportedError } from "../../errors.js";
import type { TarTime } from "../tar/types.js";

/** Go's zero time.Time (0001-01-01T00:00:00Z) in Unix seconds. */
export const GO_ZERO_TIME_SEC = -62135596800;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** The value of `n` ASCII digits at `s[i..i+n)`, or -1 when any of them is not a digit. */
function digitsAt(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = s.charCodeAt(k) - 0x30;
    if (c < 0 || c > 9) return -1; // also NaN past the end
    v = v * 10 + c;
  }
  return v;
}

function invalid(s: string, what: string): FormatError {
  return new FormatError(`${what}: invalid RFC 3339 time ${JSON.stringify(s.slice(0, 60))}`);
}

/**
 * Parse an RFC 3339 time like Go's time.Parse(time.RFC3339, s): `YYYY-MM-DDTHH:MM:SS`, an
 * optional fraction of any length (digits past the ninth are truncated), then `Z` or `±HH:MM`.
 * Scanned by hand rather than with a regular expression: a TOC holds one or more per entry.
 */
export function parseRfc3339(s: string, what: string): TarTime {
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  const hour = digitsAt(s, 11, 2);
  const min = digitsAt(s, 14, 2);
  const sec = digitsAt(s, 17, 2);
  if (
    year < 0 ||
    month < 0 ||
    day < 0 ||
    hour < 0 ||
    min < 0 ||
    sec < 0 ||
    s.charCodeAt(4) !== 0x2d || // -
    s.charCodeAt(7) !== 0x2d ||
    s.charCodeAt(10) !== 0x54 || // T
    s.charCodeAt(13) !== 0x3a || // :
    s.charCodeAt(16) !== 0x3a
  ) {
    throw invalid(s, what);
  }
  let i = 19;
  let nsec = 0;
  if (s.charCodeAt(i) === 0x2e) {
    // .fraction: at least one digit; the first nine count
    const start = ++i;
    let scale = 100_000_000;
    for (;;) {
      const c = s.charCodeAt(i) - 0x30;
      if (!(c >= 0 && c <= 9)) break;
      nsec += c * scale;
      scale = Math.floor(scale / 10);
      i++;
    }
    if (i === start) throw invalid(s, what);
  }
  const zone = s.charCodeAt(i);
  let oh = 0;
  let om = 0;
  if (zone === 0x5a) {
    if (s.length !== i + 1) throw invalid(s, what);
  } else if (zone === 0x2b || zone === 0x2d) {
    oh = digitsAt(s, i + 1, 2);
    om = digitsAt(s, i + 4, 2);
    if (oh < 0 || om < 0 || s.charCodeAt(i + 3) !== 0x3a || s.length !== i + 6) {
      throw invalid(s, what);
    }
  } else {
    throw invalid(s, what);
  }
  const maxDay = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > maxDay || hour > 23 || min > 59 || sec > 59) {
    throw new FormatError(`${what}: time out of range ${JSON.stringify(s)}`);
  }
  if (oh > 23 || om > 59) throw new FormatError(`${what}: bad zone offset in ${JSON.stringify(s)}`);
  const offset = (zone === 0x2d ? -1 : 1) * (oh * 3600 + om * 60);
  const days = daysFromCivil(year, month, day);
  return { sec: days * 86400 + hour * 3600 + min * 60 + sec - offset, nsec };
}

/** Format like Go's time.Time.MarshalJSON for a UTC time (RFC3339Nano, trailing zeros trimmed). */
export function formatRfc3339Nano(t: TarTime): string {
  const days = Math.floor(t.sec / 86400);
  const rem = t.sec - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  if (y < 0 || y > 9999) {
    throw new UnsupportedError(`time ${t.sec}s is outside years 0-9999 (Go cannot marshal it)`);
  }
  const p2 = (n: number) => String(n).padStart(2, "0");
  let out = `${String(y).padStart(4, "0")}-${p2(mo)}-${p2(d)}T${p2(Math.floor(rem / 3600))}:${p2(
    Math.floor((rem % 3600) / 60),
  )}:${p2(rem % 60)}`;
  if (t.nsec !== 0) out += `.${String(t.nsec).padStart(9, "0").replace(/0+$/, "")}`;
  return `${out}Z`;
}

/** Go's time.IsZero. */
export function isGoZeroTime(t: TarTime): boolean {
  return t.sec === GO_ZERO_TIME_SEC && t.nsec === 0;
}

/** The TOC check treats absent, Go-zero and Unix-epoch-0 times as equal (spec §3.6). */
export function isUnsetLikeTime(t: TarTime | undefined): boolean {
  return t === undefined || isGoZeroTime(t) || (t.sec === 0 && t.nsec === 0);
}

export function sameInstant(a: TarTime | undefined, b: TarTime | undefined): boolean {
  if (isUnsetLikeTime(a) || isUnsetLikeTime(b)) return isUnsetLikeTime(a) && isUnsetLikeTime(b);
  return a!.sec === b!.sec && a!.nsec === b!.nsec;
}
