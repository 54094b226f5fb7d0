/**
 * The contract between the tar reader and its consumers (tar-split builder, zstd:chunked and
 * eStargz writers). The reader behaves like Go's archive/tar (as forked by vbatts/tar-split with
 * RawAccounting): it hands out every byte of the archive exactly once, either as raw bytes
 * (headers, extension records, padding, end blocks, trailing bytes) or as entry payload.
 */

/** A time with nanosecond precision (JavaScript Date only has milliseconds). */
export interface TarTime {
  /** Seconds since the Unix epoch; may be negative. */
  sec: number;
  /** 0..999_999_999, always added to `sec` (for negative PAX times Go subtracts; we normalise). */
  nsec: number;
}

/** A parsed header, after PAX (x) and GNU (L/K) records were applied, as Go's tar.Header. */
export interface TarHeader {
  /** Typeflag as a one-character string ("0", "1", "2", "3", "4", "5", "6", ...). "\0" is normalised like Go. */
  typeflag: string;
  /** Final name (PAX path / GNU L / prefix+name), decoded as UTF-8 (lossy when not valid UTF-8). */
  name: string;
  /** The same name as raw bytes; differs from Buffer.from(name) only for invalid UTF-8. */
  nameBytes: Buffer;
  linkname: string;
  /** Raw numeric mode field (permission + setuid/setgid/sticky + whatever type bits are present). */
  mode: number;
  uid: number;
  gid: number;
  /** Logical size (PAX size overrides). 0 for header-only types regardless of the field. */
  size: number;
  /** The size as written in the header (after PAX), even for header-only types (see pitfall P21). */
  declaredSize: number;
  mtime: TarTime;
  atime?: TarTime;
  ctime?: TarTime;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* PAX records: xattr name -> raw value bytes. */
  xattrs: Map<string, Buffer>;
  /** All PAX records that applied to this entry (local ones; globals are reported separately). */
  pax: Map<string, string>;
  /** "ustar" | "pax" | "gnu" | "v7" (best knowledge, informational). */
  format: string;
  /**
   * Set for GNU sparse entries (typeflag "S" or GNU sparse PAX records). The reader does not
   * expand them: `size` and the data events are the physical (stored) bytes. Writers reject them.
   */
  sparse?: boolean;
}

export type TarEvent =
  /** A new entry. `raw` = everything since the end of the previous entry's payload:
   *  previous padding, PAX/GNU extension blocks with their data, and this 512-byte header. */
  | { type: "entry"; header: TarHeader; raw: Buffer }
  /** Payload bytes of the current entry (only `header.size` bytes in total, no padding). */
  | { type: "data"; data: Buffer }
  /** End of archive: last padding + the end-of-archive zero blocks (Go's RawBytes at io.EOF). */
  | { type: "end"; raw: Buffer }
  /** Bytes after the end-of-archive marker, in pieces, until the input is exhausted. */
  | { type: "trailing"; data: Buffer };
