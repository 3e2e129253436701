// The engine's dedicated module worker: the wasm module and every session of one client live
// here, off the page's thread (see host.js for the protocol). The module and its binary are
// static imports and a literal `new URL`, so bundlers bundle the one and emit the other.
import * as magpie from "../../magpie.js";
import { serve } from "./host.js";

/** Holds the lock named `name` for as long as this worker lives: the client waits on it to
 * learn that the worker ended when no error event says so (it closed itself, or was killed). */
const hold = (name) => new Promise((held) => {
  if (!navigator.locks || !name) return held();
  navigator.locks.request(name, () => {
    held();
    return new Promise(() => {});
  });
});

serve(self, { load: async () => magpie, wasm: new URL("../../magpie_bg.wasm", import.meta.url).href, hold });
