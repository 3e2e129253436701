// The engine's dedicated module worker: the wasm module and every session of one client live
// here, off the page's thread (see host.js for the protocol).
import { serve } from "./host.js";

// Held for as long as this worker lives, under the worker's own name: the client waits on it to
// learn that the worker ended when no error event says so (it closed itself, or was killed).
const alive = new Promise((held) => {
  if (!navigator.locks) return held();
  navigator.locks.request(self.name, () => {
    held();
    return new Promise(() => {});
  });
});

serve(self, new URL("../../magpie.js", import.meta.url).href, alive);
