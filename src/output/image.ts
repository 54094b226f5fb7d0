/**
 * The image-like value every output writer takes: the config exactly as served, the layer
 * diff_ids, and a reader of each layer's exact tar. The CLI builds one from the store after a
 * pull (`storedImage`) and hands it to the writers it was asked for; `pull()` writes nothing
 * but the store.
 */
import type { Digest } from "../digest.js";
import { cleanAbsPath } from "../formats/zstdchunked/path.js";
import { readFilesIndex } from "../store/files-index.js";
import { filesByCleanPath } from "../store/layer-tar.js";
import type { Store } from "../store/store.js";

export interface OutputImage {
  /** The config byte for byte (its digest, which the manifest names, must not change). */
  configBytes: Buffer;
  /** rootfs.diff_ids, bottom layer first. */
  diffIds: Digest[];
  /** A layer's exact tar, checked against its diff_id as it streams (the last piece is held back). */
  layerTar(diffId: Digest): AsyncIterable<Buffer>;
  /**
   * Where a verified copy of a layer's regular file lives, by tar name and size, when one does
   * (the store's objects): the rootfs writer copies (reflinks) it instead of writing the bytes.
   */
  fileObjects?(diffId: Digest): Promise<(name: string, size: number) => string | undefined>;
}

/** An image whose layers are all in `store` (after a pull). */
export function storedImage(store: Store, configBytes: Buffer, diffIds: Digest[]): OutputImage {
  return {
    configBytes,
    diffIds,
    layerTar: (diffId) => store.layerTar(diffId),
    async fileObjects(diffId) {
      const layer = await store.getLayer(diffId);
      if (!layer) return () => undefined;
      const files = filesByCleanPath((await readFilesIndex(layer.filesPath)).files);
      return (name, size) => {
        const f = files.get(cleanAbsPath(name));
        return f && f.size === size ? store.objectPath(f.digest) : undefined;
      };
    },
  };
}
