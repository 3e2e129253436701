// The package's entry point: registers <magpie-classifier> and <magpie-trainer>, and exports
// the engine's JS API (engine/client.js: the wasm module runs in a worker; every call is async).
export { MagpieClassifier } from "./widget/classifier.js";
export { MagpieTrainer } from "./widget/trainer.js";
export { api, client, configure, faulted, onFault } from "./engine/client.js";
