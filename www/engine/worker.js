// The engine's dedicated module worker: the wasm module and every session of one client live
// here, off the page's thread (see host.js for the protocol).
import { serve } from "./host.js";

serve(self, new URL("../../magpie.js", import.meta.url).href);
