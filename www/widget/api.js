// The widgets' link to the JS API: the wasm module, initialised once per page, and where the
// weights live (next to this folder, wherever the package is hosted).
import init, { FewShotSession, trainOptions } from "../../magpie.js";

let ready = null;

/** The API, once the wasm module is loaded. */
export async function api() {
  ready ??= init({ module_or_path: new URL("../../magpie_bg.wasm", import.meta.url) });
  await ready;
  return { FewShotSession, trainOptions };
}

/** Folder of the weight records served with the widgets. */
export const WEIGHTS = new URL("../weights/", import.meta.url).href;
