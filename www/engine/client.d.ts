// Types of the engine's JS client (client.js), derived from the wasm API's generated types
// (../../magpie.d.ts): the same calls and results, each returning a Promise, since the engine
// runs in a worker. `info()` answers at once from the engine's last report.
/// <reference lib="esnext.disposable" />
// (The generated magpie.d.ts names Symbol.dispose: this makes it known whatever `lib` a consumer has.)
import type * as wasm from "../../magpie.js";

/** `F` returning a Promise of its result. */
type Async<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

/** An object of the engine, as the client holds it. */
type Remote<T> = {
  [K in Exclude<keyof T, "free" | "dispose" | "info" | symbol>]: Async<T[K]>;
} & {
  /** What the object reports about itself, as of its last call. */
  info(): ReturnType<T extends { info(): infer I } ? () => I : never>;
  /** Rebuilds the object on a fresh engine now, if its engine faulted (calls do it themselves). */
  revive(): Promise<void>;
  /** Frees the object in the engine; it cannot be used afterwards. */
  free(): void;
  /** Same as `free`. */
  dispose(): void;
};

/** A few-shot session living in the engine. */
export type FewShotSession = Remote<wasm.FewShotSession> & {
  /** Adds a sample as `addSample` does; resolves to its id and the rows the engine computed (or
   * took) for it. */
  addSampleWithRows(...args: Parameters<wasm.FewShotSession["addSample"]>): Promise<{ id: string; embedding: wasm.SavedEmbedding }>;
};
/** An ImageNet classifier living in the engine. */
export type ImageNetModel = Remote<wasm.ImageNetModel>;

/** The engine's API: the wasm module's classes and functions, every call async. */
export declare const api: {
  FewShotSession: {
    /** With `journal: false` the session keeps no record for a rebuild: after a fault its calls
     * reject and its owner makes a new one. */
    create: (options?: Parameters<typeof wasm.FewShotSession.create>[0], how?: { journal?: boolean }) => Promise<FewShotSession>;
  };
  ImageNetModel: { create: (options?: Parameters<typeof wasm.ImageNetModel.create>[0]) => Promise<ImageNetModel> };
  backbones: Async<typeof wasm.backbones>;
  backboneChoices: Async<typeof wasm.backboneChoices>;
  trainingSettings: Async<typeof wasm.trainingSettings>;
  cleanSettings: Async<typeof wasm.cleanSettings>;
  trainOptions: Async<typeof wasm.trainOptions>;
  classFolders: Async<typeof wasm.classFolders>;
  projectFile: Async<typeof wasm.projectFile>;
  readProject: Async<typeof wasm.readProject>;
  importArchive: Async<typeof wasm.importArchive>;
  importFiles: Async<typeof wasm.importFiles>;
  writeProject: Async<typeof wasm.writeProject>;
  simulateFault: Async<typeof wasm.simulateFault>;
};

/** The client: starts the engine on first use and again after a fault. */
export declare const client: EventTarget & {
  /** Backbones and training settings of the running engine, once it started. */
  readonly catalogue: {
    backbones: string[];
    backboneChoices: ReturnType<typeof wasm.backboneChoices>;
    trainingSettings: ReturnType<typeof wasm.trainingSettings>;
  } | undefined;
};

/** Where the engine's files are, when not where the package put them (bundlers find those by
 * themselves): a folder laid out as the package is (`magpie.js`, `magpie_bg.wasm`, `www/`). */
export interface AssetsOptions {
  /** The folder's URL, absolute or relative to the page; `null` restores the default. */
  assetsUrl?: string | URL | null;
}
/** Serves the engine's worker, wasm and weights from `assetsUrl`; call it before the first
 * widget is connected or API call is made (it throws afterwards). */
export declare function configure(options?: AssetsOptions): void;

/** The `name` of every error the engine's calls reject with, for deciding what to do (the
 * message is for people): the engine's own (src/error_name.rs), then the client's. */
export type EngineErrorName =
  | "InvalidInput" | "Busy" | "BackendUnavailable" | "DeviceLost" | "DeviceFailed" | "Cancelled"
  /** The engine stopped on an internal error; the next call starts a fresh one. */
  | "EngineFault";

/** Calls `listener(message)` whenever an engine faults; returns the function that stops it. */
export declare function onFault(listener: (message: string) => void): () => void;
/** Whether `error` says the engine faulted (the call failed; the next call rebuilds). */
export declare function faulted(error: unknown): boolean;
/** Whether `error` says the GPU device was lost. */
export declare function deviceLost(error: unknown): boolean;
