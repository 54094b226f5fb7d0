/**
 * A stored layer's exact tar, checked against its diff_id on the way out. It lives with the
 * store (`store.layerTar(diffId)`); this name stays for the library's existing callers.
 */
export { storedLayerTar } from "../store/layer-tar.js";
