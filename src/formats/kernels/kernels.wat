;; The two per-byte loops of the zstd:chunked codec, in WebAssembly: CRC-64 (Go's ISO table,
;; as tar-split uses it) and the rolling checksum of c/storage's chunker. Built from this file
;; by `npm run build:wasm` (wabt) into kernels-wasm.ts; JavaScript copies input into memory at
;; INPUT and keeps each object's state itself, passing it in and out through the STATE words.
;;
;; Memory map (bytes):
;;   0..8      CRC register (pre-inverted, little-endian i64), in/out
;;   16..32    rollsum state: s1, s2, window offset, stop reason (i32 each), in/out
;;   64..128   rollsum window (64 bytes), in/out
;;   1024..    CRC tables: 16 x 256 x i64, T[k][b] at 1024 + k * 2048 + b * 8 (filled by JS):
;;             the CRC of byte b followed by k zero bytes
;;   INPUT = 65536 .. end: input bytes
(module
  (memory (export "memory") 2)

  ;; CRC-64 of len bytes at ptr, slicing-by-16: one table lookup per byte, 16 bytes a step.
  (func (export "crc64") (param $ptr i32) (param $len i32)
    (local $crc i64) (local $x i64) (local $y i64) (local $end i32) (local $end16 i32)
    (local.set $crc (i64.load (i32.const 0)))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $end16 (i32.sub (local.get $end) (i32.and (local.get $len) (i32.const 15))))
    (block $done16
      (loop $step16
        (br_if $done16 (i32.ge_u (local.get $ptr) (local.get $end16)))
        (local.set $x (i64.xor (local.get $crc) (i64.load (local.get $ptr))))
        (local.set $y (i64.load offset=8 (local.get $ptr)))
        (local.set $crc
          (i64.xor
            (i64.xor
              (i64.xor
                (i64.xor
                  (i64.load offset=31744 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 0))) (i32.const 255)) (i32.const 3)))
                  (i64.load offset=29696 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 8))) (i32.const 255)) (i32.const 3))))
                (i64.xor
                  (i64.load offset=27648 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 16))) (i32.const 255)) (i32.const 3)))
                  (i64.load offset=25600 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 24))) (i32.const 255)) (i32.const 3)))))
              (i64.xor
                (i64.xor
                  (i64.load offset=23552 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 32))) (i32.const 255)) (i32.const 3)))
                  (i64.load offset=21504 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 40))) (i32.const 255)) (i32.const 3))))
                (i64.xor
                  (i64.load offset=19456 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 48))) (i32.const 255)) (i32.const 3)))
                  (i64.load offset=17408 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $x) (i64.const 56))) (i32.const 255)) (i32.const 3))))))
            (i64.xor
              (i64.xor
                (i64.xor
                  (i64.load offset=15360 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $y) (i64.const 0))) (i32.const 255)) (i32.const 3)))
                  (i64.load offset=13312 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $y) (i64.const 8))) (i32.const 255)) (i32.const 3))))
                (i64.xor
                  (i64.load offset=11264 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $y) (i64.const 16))) (i32.const 255)) (i32.const 3)))
                  (i64.load offset=9216 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $y) (i64.const 24))) (i32.const 255)) (i32.const 3)))))
              (i64.xor
                (i64.xor
                  (i64.load offset=7168 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $y) (i64.const 32))) (i32.const 255)) (i32.const 3)))
                  (i64.load offset=5120 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $y) (i64.const 40))) (i32.const 255)) (i32.const 3))))
                (i64.xor
                  (i64.load offset=3072 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $y) (i64.const 48))) (i32.const 255)) (i32.const 3)))
                  (i64.load offset=1024 (i32.shl (i32.and (i32.wrap_i64 (i64.shr_u (local.get $y) (i64.const 56))) (i32.const 255)) (i32.const 3))))))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br $step16)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $crc
          (i64.xor
            (i64.shr_u (local.get $crc) (i64.const 8))
            (i64.load offset=1024
              (i32.shl
                (i32.and
                  (i32.xor (i32.wrap_i64 (local.get $crc)) (i32.load8_u (local.get $ptr)))
                  (i32.const 255))
                (i32.const 3)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $step)))
    (i64.store (i32.const 0) (local.get $crc)))

  ;; Rolls bytes [from, n) of the input at INPUT until a split (returns the position after the
  ;; byte, reason 1) or a zero run that is a hole candidate: one of >= 1024 zeros or one that
  ;; reaches the end of the input (returns where it starts, reason 0). Shorter zero runs inside
  ;; the input are ordinary data bytes, rolled here. Arithmetic wraps like uint32 (rollsum.go).
  (func (export "rollUntil") (param $from i32) (param $n i32) (result i32)
    (local $s1 i32) (local $s2 i32) (local $w i32) (local $i i32) (local $b i32)
    (local $drop i32) (local $j i32) (local $zeroEnd i32) (local $reason i32)
    (local.set $s1 (i32.load (i32.const 16)))
    (local.set $s2 (i32.load (i32.const 20)))
    (local.set $w (i32.load (i32.const 24)))
    (local.set $i (local.get $from))
    ;; Within [i, zeroEnd) the bytes are known zeros of a short run: roll without looking.
    (local.set $zeroEnd (local.get $from))
    (block $stop
      (loop $next
        (br_if $stop (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $b (i32.load8_u (i32.add (i32.const 65536) (local.get $i))))
        (if (i32.and (i32.eqz (local.get $b)) (i32.ge_u (local.get $i) (local.get $zeroEnd)))
          (then
            (local.set $j (local.get $i))
            (block $counted
              (loop $count
                (br_if $counted (i32.ge_u (local.get $j) (local.get $n)))
                (br_if $counted (i32.load8_u (i32.add (i32.const 65536) (local.get $j))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $count)))
            (br_if $stop (i32.eq (local.get $j) (local.get $n)))
            (br_if $stop (i32.ge_u (i32.sub (local.get $j) (local.get $i)) (i32.const 1024)))
            (local.set $zeroEnd (local.get $j))))
        (local.set $drop (i32.load8_u (i32.add (i32.const 64) (local.get $w))))
        (local.set $s1 (i32.sub (i32.add (local.get $s1) (local.get $b)) (local.get $drop)))
        (local.set $s2
          (i32.sub
            (i32.add (local.get $s2) (local.get $s1))
            (i32.shl (i32.add (local.get $drop) (i32.const 31)) (i32.const 6))))
        (i32.store8 (i32.add (i32.const 64) (local.get $w)) (local.get $b))
        (local.set $w (i32.and (i32.add (local.get $w) (i32.const 1)) (i32.const 63)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eq (i32.and (local.get $s2) (i32.const 65535)) (i32.const 65535))
          (then
            (local.set $reason (i32.const 1))
            (br $stop)))
        (br $next)))
    (i32.store (i32.const 16) (local.get $s1))
    (i32.store (i32.const 20) (local.get $s2))
    (i32.store (i32.const 24) (local.get $w))
    (i32.store (i32.const 28) (local.get $reason))
    (local.get $i))
)
