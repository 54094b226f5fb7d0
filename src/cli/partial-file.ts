/** Output files are written as `OUT.partial` and renamed once complete; on failure, this removes them. */
import type { WriteStream } from "node:fs";
import { rm } from "node:fs/promises";

/**
 * Destroys the stream, waits for its close (a stream destroyed before its open finished would
 * otherwise create the file after the rm), then removes the partial file. Errors the destroy
 * itself raises (Node 24: ERR_STREAM_DESTROYED for pending writes) must not hide the failure
 * that got us here, so they are swallowed.
 */
export async function discardPartial(out: WriteStream | undefined, partial: string): Promise<void> {
  if (out !== undefined) {
    out.on("error", () => {});
    if (!out.closed) {
      const closed = new Promise<void>((resolve) => out.once("close", () => resolve()));
      out.destroy();
      await closed;
    }
  }
  await rm(partial, { force: true });
}
