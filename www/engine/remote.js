// A session or model of the engine, as the client holds it (a remote object): every method of
// the wasm object, async (methods.js lists them), and `info()` answered at once from the copy the
// engine sends back after each change. Unless its owner rebuilds it itself (`journal: false`,
// as the app's core does from its own samples), it keeps what it needs to be rebuilt on a fresh
// engine after a fault: the options it was made with and every edit made to it, in order
// (classes; samples as they were given, with the rows the engine computed; the trained or
// loaded model).

import { weightOptions } from "./assets.js";
import { transferable } from "./frames.js";
import { METHODS, replayed } from "./methods.js";

/** `options` with the package's weight records where it names none (assets.js), and its URLs
 * made absolute: the engine, in a worker, would read a relative URL from the worker's folder,
 * not the page's. */
function resolved(options) {
  const names = ["weightsUrl", "weightsUrls", "weightsBase"].some((key) => options[key] != null);
  const out = { ...(names ? {} : weightOptions()), ...options };
  for (const key of ["model", "weightsUrl", "weightsBase"]) out[key] = absolute(out[key]);
  if (out.weightsUrls) out.weightsUrls = Object.fromEntries(Object.entries(out.weightsUrls).map(([id, url]) => [id, absolute(url)]));
  return out;
}

/** `value`, made an absolute URL if it is a string (a URL relative to the page). */
function absolute(value) {
  return typeof value === "string" ? new URL(value, globalThis.document?.baseURI ?? globalThis.location?.href).href : value;
}

/** A `FewShotSession` or `ImageNetModel` living in the engine. */
export class Remote {
  /** Makes a `kind` ("FewShotSession" or "ImageNetModel") with `options` on the client's engine;
   * with `journal: false` it keeps no record for a rebuild, and its calls after a fault reject
   * (its owner makes a new one). */
  static async create(client, kind, options = {}, { journal = true } = {}) {
    const remote = new Remote(client, kind, resolved(options), journal);
    await remote.build(await client.current());
    return remote;
  }

  constructor(client, kind, options, journal) {
    this.client = client;
    this.kind = kind;
    this.options = options;
    /** Edits since creation, replayed on a fresh engine: `[method, args]`; null when the owner
     * rebuilds instead. */
    this.journal = journal ? [] : null;
    /** The model to load after replaying (bytes), once one was trained or loaded. */
    this.model = null;
    this.freed = false;
    this.rebuilding = null;
  }

  /** Makes the object on `engine` and replays what was done to it. */
  async build(engine) {
    const made = await engine.call(this.kind, "create", [this.options]);
    this.engine = engine;
    this.handle = made.handle;
    this.latest = made.info;
    for (const [method, args] of this.journal ?? []) await this.send(method, args);
    if (this.model) await this.send("load", [this.model]);
  }

  /** This object on a live engine: rebuilt on a fresh one after a fault. */
  async live() {
    if (this.freed) throw new Error("this session was disposed");
    if (!this.engine.dead) return this.engine;
    if (!this.journal) throw this.engine.dead;
    this.rebuilding ??= (async () => {
      await this.build(await this.client.current());
    })().finally(() => { this.rebuilding = null; });
    await this.rebuilding;
    return this.engine;
  }

  /** Rebuilds the object now if its engine faulted (calls do that by themselves). */
  async revive() {
    await this.live();
  }

  /** Sends a call to the object on its current engine; resolves to the value. */
  async send(method, args, transfer = []) {
    return (await this.reply(method, args, transfer)).value;
  }

  /** Sends a call; resolves to the whole reply. */
  async reply(method, args, transfer = []) {
    const reply = await this.engine.call(this.handle, method, args, transfer);
    if (reply.info) this.latest = reply.info;
    return reply;
  }

  /** Calls `method` on a live engine. */
  async call(method, args = [], transfer = []) {
    await this.live();
    return this.send(method, args, transfer);
  }

  /** Calls `method`; an edit is kept for a rebuild once the engine accepted it. */
  async change(method, args) {
    const value = await this.call(method, args);
    if (replayed(method)) this.journal?.push([method, args]);
    return value;
  }

  /** What the object reports about itself, as of its last call. */
  info() { return this.latest; }

  /** Adds a sample (see the wasm API); resolves to its id. Its rows are computed in the
   * embedding pool when none are given, so this session's engine stays free meanwhile. */
  async addSample(label, source, options = {}) {
    return (await this.addSampleWithRows(label, source, options)).id;
  }

  /** Adds a sample as `addSample` does; resolves to `{ id, embedding }`: its id and the rows the
   * engine computed (or took) for it. */
  async addSampleWithRows(label, source, options = {}) {
    const { value } = await transferable(source, true);
    const pooled = options.embedding ? null : await this.pooled(value);
    await this.live();
    const { value: id, embedding } = await this.reply("addSample", [label, value, { ...options, embedding: options.embedding ?? pooled }]);
    // Rows of other settings (the session trained with other augmentation) are computed again
    // by the session: the pool then waits for the next training.
    this.poolUseful = !pooled || pooled.key === embedding.key;
    this.journal?.push(["addSample", [label, value, { ...options, id, embedding }]]);
    return { id, embedding };
  }

  /** Embeds the augmented views the samples lack, for up to `most` samples; resolves to how
   * many still lack some. With an embedding pool, each sample's views are computed by whichever
   * of the pool's engines and this session's own is free (from the session's random streams, so
   * the rows are those it would compute itself), then handed to the session. */
  async embedViews(most) {
    const pool = this.client.pool;
    if (!pool || this.kind !== "FewShotSession") return this.call("embedViews", [most]);
    const work = await this.call("viewsWork", [most]);
    const queue = [...work.samples];
    const options = await this.poolOptions();
    let refused = 0;
    const own = (sample) => this.call("embedSampleViews", [sample.file, sample.job]);
    const pooled = (sample) => pool.call(options, "embedSampleViews", [sample.file, sample.job]).catch(() => own(sample));
    const lane = async (compute) => {
      for (let sample = queue.shift(); sample; sample = queue.shift()) {
        const rows = await compute(sample);
        const taken = await this.call("putViews", [sample.id, sample.job.firstView, rows]).catch(() => false);
        if (!taken) refused += 1;
      }
    };
    await Promise.all([lane(own), ...Array.from({ length: pool.size }, () => lane(pooled))]);
    // Rows refused every time (none fit) would come back forever: the session embeds them.
    if (refused && refused === work.samples.length) return this.call("embedViews", [most]);
    return work.left + refused;
  }

  /** The rows of `source` from the embedding pool, or null (no pool, or its rows would not fit). */
  async pooled(source) {
    const pool = this.client.pool;
    if (!pool || this.kind !== "FewShotSession" || this.poolUseful === false) return null;
    return pool.embed(await this.poolOptions(), source).catch(() => null);
  }

  /** Options of a pool engine's session computing rows as this one does. */
  async poolOptions() {
    await this.live();
    const info = this.latest;
    return { ...this.options, model: undefined, backbone: info.backbone, backend: info.placement.backbone, headBackend: "cpu" };
  }

  /** Trains (see the wasm API), calling `onModel(report)` when a model goes live (the instant
   * one first, before the head trains) and `onEpoch(report)` after each epoch; the model is
   * kept. */
  async train(config, onEpoch = () => {}, onModel = () => {}) {
    const live = (report) => {
      // `predict` works from now on: say so before the engine's next report.
      this.latest = { ...this.latest, trained: true, modelLabels: report.labels };
      onModel(report);
    };
    const summary = await this.call("train", [config, onEpoch, live]);
    this.poolUseful = undefined;
    this.model = await this.send("save", []);
    return summary;
  }

  /** Stops a training at its next mini-batch. */
  cancel() {
    if (!this.freed && !this.engine.dead) this.engine.call(this.handle, "cancel", []).catch(() => {});
  }

  /** Class probabilities of an image (see the wasm API; `options.embedding` asks for its rows,
   * which `addSample` takes). */
  async predict(source, options = {}) {
    const { value, transfer } = await transferable(source);
    return this.call("predict", [value, options], transfer);
  }

  /** Sets the model's "not sure" threshold; the model kept for a rebuild holds it. */
  async setThreshold(threshold) {
    await this.call("setThreshold", [threshold]);
    this.model = await this.send("save", []);
  }

  /** Loads a model record (bytes or URL); it is kept for a rebuild. */
  async load(model) {
    const labels = await this.call("load", [absolute(model)]);
    this.model = await this.send("save", []);
    return labels;
  }

  /** Opens a project file, replacing the classes and samples; kept for a rebuild. */
  async loadProject(file) {
    const loaded = await this.call("loadProject", [absolute(file)]);
    if (this.journal) this.journal = [["loadProject", [absolute(file)]]];
    this.model = loaded.trained ? await this.send("save", []) : null;
    return loaded;
  }

  /** ImageNet classes of an image (an `ImageNetModel`). */
  async classify(source, k) {
    const { value, transfer } = await transferable(source);
    return this.call("classify", [value, k], transfer);
  }

  /** Pooled features of an image (an `ImageNetModel`). */
  async features(source) {
    const { value, transfer } = await transferable(source);
    return this.call("features", [value], transfer);
  }

  /** Pooled features of several images, one row after another (an `ImageNetModel`). */
  async featuresBatch(sources) {
    const converted = await Promise.all(sources.map((s) => transferable(s)));
    return this.call("featuresBatch", [converted.map((c) => c.value)], converted.flatMap((c) => c.transfer));
  }

  /** Frees the object in the engine; it cannot be used afterwards. */
  free() {
    if (this.freed) return;
    this.freed = true;
    if (!this.engine.dead) this.engine.call(this.handle, "free", []).catch(() => {});
  }

  dispose() { this.free(); }
}

// Every other method of the table: a plain call (an edit is kept for a rebuild).
for (const method of Object.keys(METHODS)) {
  if (!(method in Remote.prototype)) {
    Object.defineProperty(Remote.prototype, method, { value(...args) { return this.change(method, args); } });
  }
}
