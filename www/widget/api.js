// The widgets' link to the engine: its one JS client (../engine/client.js), shared by every
// widget of the page (which also knows where the wasm and the weights are: ../engine/assets.js).
import { client } from "../engine/client.js";

export { api, faulted } from "../engine/client.js";

/** Fires one `error` event on `widget` per engine fault while it is connected (the client
 * restarts the engine and rebuilds the widget's session on its next call); returns the
 * function that stops it. */
export function reportFaults(widget, emit) {
  const listener = (e) => emit(widget, "error", { message: `the engine stopped on an internal error: ${e.detail.message}; it restarts, nothing is lost` });
  client.addEventListener("fault", listener);
  return () => client.removeEventListener("fault", listener);
}
