/**
 * Content-defined chunking of one file's payload exactly like c/storage's rollingChecksumReader
 * + holesFinder (spec §1.3): a fresh RollSum per file, a cut after every byte where the rollsum
 * splits, and every run of >= 1024 zero bytes becomes its own "zeros" chunk (the rollsum still
 * sees those zeros, but no split is tested inside them). No minimum or maximum chunk size.
 *
 * Push-based so the writer can stream: feed payload pieces with `push`, then `finish`. The
 * returned events describe the chunk stream; `data` buffers may be views of the input.
 */
import { INPUT, type Kernels, ROLL_STATE, ROLL_WINDOW, wasmKernels } from "../kernels/index.js";
import { CHAR_OFFSET, ROLLSUM_WINDOW, RollSum, SPLIT_MASK } from "./rollsum.js";

export const HOLE_THRESHOLD = 1024;
/** Inputs this short stay in JavaScript: copying them into WebAssembly memory costs more. */
export const CHUNKER_WASM_MIN = 4096;

export type ChunkEvent =
  /** Bytes of the current data chunk. */
  | { type: "data"; data: Buffer }
  /** The current data chunk ends here (it may be empty: the consumer skips empty chunks). */
  | { type: "cut" }
  /** A complete zeros chunk of `length` bytes (the data chunk before it was cut already). */
  | { type: "hole"; length: number };

export class FileChunker {
  private readonly rollsum = new RollSum();
  /** Zeros seen at the end of the input so far, not yet classified as hole or data. */
  private zeroRun = 0;
  /** s1, s2, window offset and stop reason, shared with rollUntil. */
  private readonly state = new Int32Array(4);

  /** @param useWasm false forces the JavaScript loop (tests compare the two). */
  constructor(private readonly useWasm = true) {}

  push(input: Buffer): ChunkEvent[] {
    // The WebAssembly loop reads its own copy of the input (one copy per push).
    const k = this.useWasm && input.length >= CHUNKER_WASM_MIN ? wasmKernels() : undefined;
    if (k) {
      k.reserve(input.length);
      k.bytes.set(input, INPUT);
    }
    const events: ChunkEvent[] = [];
    const rs = this.rollsum;
    const st = this.state;
    st[0] = rs.s1 | 0;
    st[1] = rs.s2 | 0;
    st[2] = rs.wofs;
    const save = () => {
      rs.s1 = st[0]! >>> 0;
      rs.s2 = st[1]! >>> 0;
      rs.wofs = st[2]!;
    };
    let spanStart = 0; // first byte of `input` not yet emitted
    // Where the current zero run began in `input`; -1 when it began in an earlier push.
    let runStart = this.zeroRun > 0 ? -1 : 0;
    const n = input.length;
    let i = 0;
    while (i < n) {
      if (input[i] === 0) {
        let j = i;
        while (j < n && input[j] === 0) j++;
        if (this.zeroRun === 0) runStart = i;
        this.zeroRun += j - i;
        i = j;
        if (i === n) break; // the run may go on in the next push
      }
      if (this.zeroRun > 0) {
        save();
        spanStart = this.endZeroRun(input, events, runStart, spanStart, i);
        st[0] = rs.s1 | 0;
        st[1] = rs.s2 | 0;
        st[2] = rs.wofs;
      }
      i = k
        ? rollUntilWasm(k, i, input.length, this.rollsum.window, st)
        : rollUntil(input, i, this.rollsum.window, st);
      if (st[3] === SPLIT) {
        events.push({ type: "data", data: input.subarray(spanStart, i) }, { type: "cut" });
        spanStart = i;
      }
    }
    save();
    // Zeros at the end stay pending (they may grow into a hole); emit what precedes them.
    const end = this.zeroRun > 0 ? Math.max(runStart, 0) : input.length;
    if (end > spanStart) events.push({ type: "data", data: input.subarray(spanStart, end) });
    return events;
  }

  /** A zero run ended at `i` (a non-zero byte): a hole, or ordinary data bytes. Returns spanStart. */
  private endZeroRun(
    input: Buffer,
    events: ChunkEvent[],
    runStart: number,
    spanStart: number,
    i: number,
  ): number {
    const rs = this.rollsum;
    if (runStart < 0) {
      this.flushZeros(events);
      return i;
    }
    if (this.zeroRun >= HOLE_THRESHOLD) {
      if (runStart > spanStart)
        events.push({ type: "data", data: input.subarray(spanStart, runStart) });
      rs.rollZeros(this.zeroRun);
      events.push({ type: "cut" }, { type: "hole", length: this.zeroRun });
      this.zeroRun = 0;
      return i;
    }
    // A short run inside this input: its zeros are ordinary data bytes of the span.
    let start = spanStart;
    for (let k = runStart; k < i; k++) {
      rs.roll(0);
      if (rs.onSplit()) {
        events.push({ type: "data", data: input.subarray(start, k + 1) }, { type: "cut" });
        start = k + 1;
      }
    }
    this.zeroRun = 0;
    return start;
  }

  /** End of payload: classify trailing zeros, then close the last chunk. */
  finish(): ChunkEvent[] {
    const events: ChunkEvent[] = [];
    if (this.zeroRun > 0) this.flushZeros(events);
    events.push({ type: "cut" });
    return events;
  }

  /** The zero run just ended: a hole if long enough, else ordinary data bytes. */
  private flushZeros(events: ChunkEvent[]): void {
    const n = this.zeroRun;
    this.zeroRun = 0;
    if (n >= HOLE_THRESHOLD) {
      this.rollsum.rollZeros(n);
      events.push({ type: "cut" }, { type: "hole", length: n });
      return;
    }
    let pending = 0;
    for (let k = 0; k < n; k++) {
      this.rollsum.roll(0);
      pending++;
      if (this.rollsum.onSplit()) {
        events.push({ type: "data", data: Buffer.alloc(pending) }, { type: "cut" });
        pending = 0;
      }
    }
    if (pending > 0) events.push({ type: "data", data: Buffer.alloc(pending) });
  }
}

const SPLIT = 1;
const STOPPED = 0;

/**
 * The hot loop, kept small and monomorphic so V8 optimises it well: rolls non-zero bytes from
 * `from` (rollsum.go Roll: s2 += s1 - 64*(drop+31), int32 arithmetic wrapping like uint32)
 * until a split (returns the position after the byte, st[3] = SPLIT), a zero byte or the end
 * (returns its position, st[3] = STOPPED).
 */
function rollUntil(input: Uint8Array, from: number, win: Uint8Array, st: Int32Array): number {
  let s1 = st[0]!;
  let s2 = st[1]!;
  let w = st[2]!;
  const n = input.length;
  let i = from;
  let reason = STOPPED;
  for (; i < n; i++) {
    const b = input[i]!;
    if (b === 0) break;
    const drop = win[w]!;
    s1 = (s1 + b - drop) | 0;
    s2 = (s2 + s1 - ((drop + CHAR_OFFSET) << 6)) | 0;
    win[w] = b;
    w = (w + 1) & (ROLLSUM_WINDOW - 1);
    if ((s2 & SPLIT_MASK) === SPLIT_MASK) {
      i++;
      reason = SPLIT;
      break;
    }
  }
  st[0] = s1;
  st[1] = s2;
  st[2] = w;
  st[3] = reason;
  return i;
}

/**
 * rollUntil in WebAssembly over the copy of the input at INPUT: the same rolls and splits, but
 * it also rolls through zero runs shorter than HOLE_THRESHOLD that end inside the input (they
 * are ordinary data, and push() would roll them one by one the same way), so it stops far less
 * often on binary data. The state and the window travel in and out through the module's memory.
 */
function rollUntilWasm(
  k: Kernels,
  from: number,
  n: number,
  win: Uint8Array,
  st: Int32Array,
): number {
  const w = ROLL_STATE >> 2;
  k.words[w] = st[0]!;
  k.words[w + 1] = st[1]!;
  k.words[w + 2] = st[2]!;
  k.bytes.set(win, ROLL_WINDOW);
  const i = k.rollUntil(from, n);
  st[0] = k.words[w]!;
  st[1] = k.words[w + 1]!;
  st[2] = k.words[w + 2]!;
  st[3] = k.words[w + 3]!;
  win.set(k.bytes.subarray(ROLL_WINDOW, ROLL_WINDOW + ROLLSUM_WINDOW));
  return i;
}
