// The widgets' link to the engine: its one JS client (../engine/client.js), shared by every
// widget of the page, and where the weights live (next to this folder, wherever the package is
// hosted).
export { api, faulted, onFault } from "../engine/client.js";

/** Folder of the weight records served with the widgets. */
export const WEIGHTS = new URL("../weights/", import.meta.url).href;
