// Types of the package's entry point (the JS API's own types are generated in magpie.d.ts).
export { FewShotSession, ImageNetModel, backbones, readProject, writeProject } from "../magpie.js";

/** Loads the wasm module once per page (the widgets call it themselves). */
export function init(): Promise<unknown>;

/** Detail of the `prediction` event. */
export interface PredictionDetail {
  label: string;
  probability: number;
  scores: { class: number; label: string; probability: number }[];
}

/** `<magpie-classifier model="model.bpk">`: live predictions of a trained model. */
export class MagpieClassifier extends HTMLElement {
  /** Class names of the loaded model. */
  readonly labels: string[];
  /** Predicts one image and fires `prediction`. */
  predict(source: ImageData | HTMLImageElement | HTMLVideoElement | HTMLCanvasElement | ImageBitmap | OffscreenCanvas): Promise<PredictionDetail>;
  /** Stops the camera and frees the model. */
  stop(): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "magpie-classifier": MagpieClassifier;
  }
  interface HTMLElementEventMap {
    prediction: CustomEvent<PredictionDetail>;
    ready: CustomEvent<{ labels: string[]; backbone: string }>;
  }
}
