// The package's entry point: registers <magpie-classifier> and <magpie-trainer>, and re-exports
// the JS API. Call `init()` (idempotent) before using the API directly; the widgets do it
// themselves.
export { MagpieClassifier } from "./widget/classifier.js";
export { MagpieTrainer } from "./widget/trainer.js";
export { api as init } from "./widget/api.js";
export { FewShotSession, ImageNetModel, backbones, classFolders, readProject, writeProject } from "../magpie.js";
