/**
 * Runs an async operation (chunk decoding, on the libuv pool) over items with several in
 * flight, yielding results in item order, while the declared output sizes of the operations in
 * flight stay within a byte budget: decoding ahead never holds more than `budget` bytes however
 * well the data compressed (one item larger than the budget runs alone).
 */
export async function* orderedWithin<T, R>(
  items: Iterable<T>,
  size: (item: T) => number,
  run: (item: T) => Promise<R>,
  budget: number,
): AsyncGenerator<R> {
  const window: Array<{ size: number; done: Promise<R> }> = [];
  let bytes = 0;
  try {
    for (const item of items) {
      const n = size(item);
      while (window.length > 0 && bytes + n > budget) {
        const head = window.shift()!;
        bytes -= head.size;
        yield await head.done;
      }
      const done = run(item);
      done.catch(() => {}); // awaited in order; avoid an unhandled rejection meanwhile
      window.push({ size: n, done });
      bytes += n;
    }
    while (window.length > 0) yield await window.shift()!.done;
  } finally {
    window.length = 0;
  }
}
