// Types of the package's entry point: the widgets, and the engine's client (its types derive
// from the wasm API's, generated in magpie.d.ts).
export { api, client, configure, faulted, onFault, type AssetsOptions, type EngineErrorName, type FewShotSession, type ImageNetModel } from "./engine/client.js";
// Results, typed in Rust (src/web/types.rs) and generated into magpie.d.ts.
import type { ClassScore, EpochReport, LoadedProject, ModelReport } from "../magpie.js";
export type { ClassScore, EpochReport, LoadedProject, ModelReport, Prediction, SessionInfo, TrainSummary } from "../magpie.js";

/** Detail of the `prediction` event. */
export interface PredictionDetail {
  /** The top class, or "unknown" when the model is not sure. */
  label: string;
  probability: number;
  scores: ClassScore[];
  /** Whether the top class stays below the threshold (the `threshold` attribute, else the model's). */
  unsure: boolean;
}

/** `<magpie-classifier model="model.bpk">`: live predictions of a trained model. */
export class MagpieClassifier extends HTMLElement {
  /** Class names of the loaded model. */
  readonly labels: string[];
  /** Predicts one image and fires `prediction`. */
  predict(source: ImageData | HTMLImageElement | HTMLVideoElement | HTMLCanvasElement | ImageBitmap | OffscreenCanvas): Promise<PredictionDetail>;
  /** Stops the camera and frees the model. */
  stop(): void;
  addEventListener<K extends keyof MagpieClassifierEventMap>(type: K, listener: (this: MagpieClassifier, event: MagpieClassifierEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

/** Detail of a widget's `error` event: what failed, and what to do where there is something to do. */
export interface ErrorDetail {
  message: string;
}

/** Events of `<magpie-classifier>` (`error` is its own CustomEvent, not the DOM's ErrorEvent). */
export interface MagpieClassifierEventMap extends Omit<HTMLElementEventMap, "error"> {
  error: CustomEvent<ErrorDetail>;
}

/** Options of `saveProject`. */
export interface SaveProjectOptions {
  /** The project's name in the file. */
  name?: string;
}

/** Detail of the trainer's `model` event. */
export interface ModelDetail {
  bytes: Uint8Array;
  labels: string[];
}

/** `<magpie-trainer>`: capture → train → preview, emitting the trained model. */
export class MagpieTrainer extends HTMLElement {
  /** Adds a class (a taken or empty name gets the next free "Class N"); returns its name. */
  addClass(name?: string): string;
  /** Trains on the recorded samples (again when samples changed meanwhile), then previews live
   * and fires `model`. */
  train(): Promise<unknown>;
  /** The trained model's bytes (what `<magpie-classifier model>` loads). */
  save(): Promise<Uint8Array>;
  /** The trained model and its backbone as an ONNX file (RGB pixels in, probabilities out). */
  exportOnnx(options?: { precision?: "f32" | "f16" }): Promise<Uint8Array>;
  /** The samples as a Teachable Machine image model: a zip of `model.json`, `weights.bin` and
   * `metadata.json` that Teachable Machine's library, ml5 and TF.js load. */
  exportTeachableMachine(options?: { name?: string }): Promise<Uint8Array>;
  /** The trained model as a TensorFlow Lite file (builtin operators; labels and preprocessing in
   * its metadata): f32, or full-integer int8 calibrated on the samples. */
  exportTflite(options?: { precision?: "f32" | "int8" }): Promise<Uint8Array>;
  /** The whole project (classes, samples, model) as a project file. */
  saveProject(options?: SaveProjectOptions): Promise<Uint8Array>;
  /** Opens a project file of any backbone, or an archive made elsewhere (a Teachable Machine
   * project, class folders), from bytes, a Blob or a URL. */
  loadProject(file: Uint8Array | ArrayBuffer | Blob | string): Promise<LoadedProject>;
  addEventListener<K extends keyof MagpieTrainerEventMap>(type: K, listener: (this: MagpieTrainer, event: MagpieTrainerEventMap[K]) => unknown, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

/** Events of `<magpie-trainer>` (`progress` and `error` are its own, not the DOM's ProgressEvent and ErrorEvent). */
export interface MagpieTrainerEventMap extends Omit<HTMLElementEventMap, "progress" | "error"> {
  error: CustomEvent<ErrorDetail>;
  progress: CustomEvent<EpochReport>;
  /** A model went live: the instant one first (`instant: true`), previewed while the head trains. */
  live: CustomEvent<ModelReport>;
  /** A previewed frame was added to class `label` ("Add this frame"); training follows. */
  correct: CustomEvent<{ label: string }>;
}

declare global {
  interface HTMLElementTagNameMap {
    "magpie-classifier": MagpieClassifier;
    "magpie-trainer": MagpieTrainer;
  }
  interface HTMLElementEventMap {
    prediction: CustomEvent<PredictionDetail>;
    ready: CustomEvent<{ labels?: string[]; backbone?: string; threshold?: number }>;
    model: CustomEvent<ModelDetail>;
  }
}
