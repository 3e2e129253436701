//! TypeScript types of what the JS API returns, next to the Rust that makes them: the generated
//! `magpie.d.ts` names them as the results of the methods (`unchecked_return_type`), and the
//! engine's client (`www/engine/client.d.ts`) derives its own types from those.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Where a session runs its two stages, and what it measured to decide. */
export interface Placement {
  backbone: "wgpu" | "cpu";
  head: "wgpu" | "cpu";
  /** Each backend's measured stage times (empty when nothing was measured). */
  measured: ["wgpu" | "cpu", { backboneMs: number; headStepMs: number }][];
  /** Why WebGPU is not used, when it is not. */
  fallbackReason?: string;
}

/** What `FewShotSession.info()` reports. */
export interface SessionInfo {
  backbone: string;
  featureDim: number;
  placement: Placement;
  labels: string[];
  counts: number[];
  cachedBytes: number;
  cachedViews?: number;
  trained: boolean;
  modelLabels?: string[];
  /** The model's "not sure" threshold (0: never "not sure"). */
  threshold?: number;
  busy: boolean;
}

/** One epoch of `train`. */
export interface EpochReport {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  elapsedMs: number;
}

/** How a model does on a set of samples. */
export interface Evaluation {
  count: number;
  accuracy: number;
  perClass: (number | null)[];
  confusion: number[][];
  /** `cells[truth][predicted]`: the sample ids. */
  cells: string[][][];
}

/** A model that went live during `train` (its `onModel` callback). */
export interface ModelReport {
  head: "linear" | "mlp" | "knn";
  /** Whether a trained head is still to come. */
  instant: boolean;
  labels: string[];
  /** Results on the held-out samples. */
  validation?: Evaluation;
  /** Milliseconds since `train` was called. */
  elapsedMs: number;
}

/** What `train` resolves to. */
export interface TrainSummary {
  history: EpochReport[];
  stop: "completed" | "earlyStopped" | "cancelled";
  batches: number;
  /** The trained head's results on the held-out samples. */
  validation?: Evaluation;
  elapsedMs: number;
  views: number;
  /** The instant model that went live first, if one did. */
  instant?: ModelReport;
  /** Which model is live: the trained head, or the instant one (the head did worse on the
   * held-out samples, or training was cancelled before the head trained). */
  live: "head" | "instant";
}

/** One class's probability. */
export interface ClassScore {
  class: number;
  label: string;
  probability: number;
}

/** What `predict` resolves to. */
export interface Prediction {
  scores: ClassScore[];
  /** Whether the top class stays below `threshold`: the model is not sure. */
  unsure: boolean;
  /** The model's "not sure" threshold. */
  threshold: number;
  backboneMs: number;
  headMs: number;
  /** The image's rows (asked for with `{ embedding: true }`), for `addSample`. */
  embedding?: SavedEmbedding;
}

/** A sample's cached rows, to store and hand back to `addSample`. */
export interface SavedEmbedding {
  key: string;
  shape: number[];
  rows: Uint16Array;
}

/** How to compute one sample's augmented views (`embedSampleViews`). */
export interface ViewsJob {
  index: number;
  firstView: number;
  views: number;
  augment: Record<string, unknown>;
  features?: "pooled" | "spatial";
  tailBlocks: number;
  seed: number;
  key: string;
}

/** The samples lacking augmented views (`viewsWork`). */
export interface ViewsWork {
  samples: { id: string; file: Blob; job: ViewsJob }[];
  left: number;
}

/** What `projectFile` takes: a project's parts (docs/project-format.md). */
export interface ProjectParts {
  name: string;
  backbone: string;
  settings?: Record<string, unknown>;
  /** The trained model's record, if it is to be kept. */
  model?: Uint8Array | null;
  classes: { name: string; samples: { id: string; image: Uint8Array; type?: "image/jpeg" | "image/png" }[] }[];
}

/** What `loadProject` resolves to. */
export interface LoadedProject {
  name: string;
  labels: string[];
  counts: number[];
  trained: boolean;
  settings: Record<string, unknown>;
}

/** What `importArchive` resolves to: `readProject`'s parts, what the archive was, and the files
 * passed over. */
export interface ImportedArchive {
  manifest: Record<string, unknown>;
  files: Map<string, Uint8Array>;
  source: "magpie" | "teachableMachine" | "samples" | "classFolders";
  skipped: { debris: number; notImages: number; otherFormats: number };
}

/** What `exportTeachableMachine` resolves to. */
export interface TeachableMachineExport {
  /** The zip: `model.json`, `weights.bin`, `metadata.json`, as Teachable Machine writes them. */
  zip: Uint8Array;
  /** The exported head as a magpie model record (`load`, `<magpie-classifier model>`). */
  model: Uint8Array;
  /** The exported head on the held-out samples; null when none were held out. */
  validation: Evaluation | null;
}

/** What `exportTflite` resolves to. */
export interface TfliteExport {
  /** The `.tflite` file: labels and preprocessing in its `magpie` metadata entry. */
  tflite: Uint8Array;
  /** A zip of it (`model.tflite`) and `labels.txt` (`index label` lines). */
  zip: Uint8Array;
}

/** A backbone as a picker offers it (`backboneChoices`). */
export interface BackboneChoice {
  id: string;
  name: string;
  /** What a picker says beside the name ("default", "smallest, fastest"…). */
  note: string | null;
  isDefault: boolean;
  /** Its weights are brought by the user: offered only where they are served. */
  optIn: boolean;
}

/** One ImageNet class of `classify`. */
export interface ImageNetScore {
  index: number;
  label: string;
  probability: number;
}
"#;
