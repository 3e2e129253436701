// A project: classes, samples, settings and the trained model, the one owner of them in JS for
// the page and <magpie-trainer> alike. Views read its state; every change goes through its
// methods, which update its engine session (in order, one call at a time) and save through the
// host's storage (the page's IndexedDB; none in a widget). Storage failures never lose work: the
// project stays in memory and the error is reported through `saveError`. After an engine fault
// the project rebuilds its session from its own samples and model, whatever the host.

import { api, client, deviceLost, onFault } from "../engine/client.js";
import * as frames from "../engine/frames.js";
import { catalogue, clean } from "./settings.js";

/** A fresh id with `prefix`. */
export const newId = (prefix) => `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;

/** Samples whose augmented views one call between other work embeds per engine computing them
 * (the session's and the pool's): a few tenths of a second with MobileNetV2 on the CPU, so Train
 * waits at most that long; one while recording, so that a new frame waits less. */
const VIEWS_AT_ONCE = 2;

/** Whether a session's embedding of a sample is the stored one: same settings and as many
 * views (a session keeps fewer views per sample when there are very many samples). */
const sameEmbedding = (a, b) => a.key === b?.key && a.rows.length === b.rows.length;

/** Where a project is kept: `{ loadProject(id), saveProject(record), saveSamples(samples),
 * deleteSamples(projectId, ids) }` (the page's IndexedDB store, app/store.js); a project with
 * none lives in memory only. */
const NOWHERE = {
  saveProject: async () => {},
  saveSamples: async () => {},
  deleteSamples: async () => {},
};

/** A project: fires `change` events (`detail.what`: "classes", "samples", "pending", "model",
 * "session", "saved", "device-lost", "fault"; `detail.message` for a fault) whenever its state
 * changes. */
export class Project extends EventTarget {
  /** A new, empty project named `name` with `classes` (names; default two) on `backbone` (default:
   * the engine's), kept in `storage` (default: memory only). */
  static async create({ name, backbone, classes = ["Class 1", "Class 2"], storage } = {}) {
    await client.current();
    backbone ??= client.catalogue.backboneChoices.find((b) => b.isDefault).id;
    const project = new Project({
      id: newId("p"), name, backbone, classes: [], settings: await clean(), model: null, modelLabels: null, nextSeq: 0,
    }, [], storage);
    for (const cls of classes) project.addClass(cls);
    return project;
  }

  /** The project `storage` keeps under `id`, or null. */
  static async load(storage, id) {
    const stored = await storage.loadProject(id);
    return stored && new Project({ ...stored.project, settings: await clean(stored.project.settings) }, stored.samples, storage);
  }

  constructor(record, samples, storage = NOWHERE) {
    super();
    this.storage = storage;
    /** The project record; its settings are clean (see settings.js). */
    this.record = record;
    /** Sample records by id (`{ id, projectId, classId, seq, jpeg, embedding }`). */
    this.samples = new Map(samples.map((s) => [s.id, s]));
    this.session = null;
    this.sessionInfo = null;
    this.saveError = null;
    /** Samples not written yet (storage failed, or this tab does not save): the next save
     * writes them. */
    this.unsaved = new Map();
    /** Whether this tab leaves the stored project alone (another tab has it open). */
    this.readOnly = false;
    this.pending = 0;
    /** Counts edits of classes and samples: a training that saw one during it is out of date. */
    this.revision = 0;
    this.queue = Promise.resolve();
    /** Ids of the samples the session holds. */
    this.inSession = new Set();
  }

  get id() { return this.record.id; }
  get name() { return this.record.name; }
  get backbone() { return this.record.backbone; }
  get classes() { return this.record.classes; }
  get settings() { return this.record.settings; }
  get model() { return this.record.model; }
  /** Whether classes changed since the model was trained. */
  get modelStale() {
    return !!this.record.model && JSON.stringify(this.record.modelLabels) !== JSON.stringify(this.classes.map((c) => c.name));
  }

  /** Samples of class `classId`, in capture order. */
  samplesOf(classId) {
    return [...this.samples.values()].filter((s) => s.classId === classId).sort((a, b) => a.seq - b.seq);
  }

  /** Index of class `classId`. */
  indexOf(classId) {
    return this.classes.findIndex((c) => c.id === classId);
  }

  changed(what, detail = {}) {
    if (what === "classes" || what === "samples") this.revision += 1;
    this.dispatchEvent(new CustomEvent("change", { detail: { ...detail, what } }));
  }

  /** Runs `work` after every earlier session call: the session takes one change at a time. A
   * call pending when the engine faults fails, so the queue goes on. */
  enqueue(work) {
    const run = this.queue.then(() => work());
    this.queue = run.catch(() => {});
    return run;
  }

  /** Saves the project record, `samples` and any sample an earlier save could not write,
   * remembering a failure instead of throwing; a read-only project only remembers them. */
  async save(samples = []) {
    for (const sample of samples) this.unsaved.set(sample.id, sample);
    for (const id of this.unsaved.keys()) if (!this.samples.has(id)) this.unsaved.delete(id);
    if (this.readOnly) return;
    try {
      const writing = [...this.unsaved.values()];
      if (writing.length) await this.storage.saveSamples(writing);
      for (const sample of writing) if (this.unsaved.get(sample.id) === sample) this.unsaved.delete(sample.id);
      await this.storage.saveProject(this.record);
      this.saveError = null;
    } catch (error) {
      this.saveError = error;
    }
    this.changed("saved");
  }

  /** Loads the backbone into a session and re-adds every sample (reusing stored embeddings
   * when they match) and the model. `progress(done, total)` reports re-added samples. The same
   * runs again after an engine fault, on the fresh engine (see `restart`). */
  async start(sessionOptions = {}, progress = () => {}) {
    this.close();
    /** The host's options; the CPU's are used instead once the GPU device was lost. */
    this.sessionOptions = sessionOptions;
    this.progress = progress;
    this.unfault ??= onFault((message) => this.restart(message));
    const options = this.gpuLost ? { ...sessionOptions, backend: "cpu", headBackend: "cpu" } : sessionOptions;
    const session = await api.FewShotSession.create({ ...options, backbone: this.backbone }, { journal: false });
    await this.enqueue(async () => {
      this.session = session;
      this.inSession = new Set();
      for (const c of this.classes) await session.addClass(c.name);
      const all = [...this.samples.values()].sort((a, b) => a.seq - b.seq);
      let done = 0;
      for (const sample of all) {
        const cls = this.classes.find((c) => c.id === sample.classId);
        if (cls) await this.embed(session, sample, cls.name);
        progress(++done, all.length);
      }
      if (this.record.model) {
        try {
          await session.load(this.record.model);
        } catch (error) {
          this.record.model = null;
          throw new Error(`the saved model could not be loaded (${error.message}); train again`);
        }
      }
    }).finally(() => {
      this.sessionInfo = session.info();
      this.changed("session");
      this.fillViews();
    });
  }

  /** After an engine fault: the session again, on a fresh engine (which may have the GPU again),
   * from this project's samples and model; says so with a "fault" change first. */
  async restart(message) {
    // (Listening only while the project is in use: from its first start until `dispose`.)
    this.changed("fault", { message });
    this.gpuLost = false;
    await this.start(this.sessionOptions, this.progress).catch(() => {});
  }

  /** Adds a sample (its stored JPEG, which the session keeps as it is) to `session`, storing
   * its embedding when it had to be computed. */
  async embed(session, sample, label) {
    if (this.inSession.has(sample.id)) return;
    const { embedding } = await session.addSampleWithRows(label, sample.jpeg, { id: sample.id, embedding: sample.embedding });
    this.inSession.add(sample.id);
    if (!sameEmbedding(embedding, sample.embedding)) {
      sample.embedding = embedding;
      await this.save([sample]);
    }
  }

  /** Adds a class named `name` (or "Class N"); returns it. */
  addClass(name) {
    const most = catalogue().limits.classes.max;
    if (this.classes.length >= most) throw new Error(`a project has at most ${most} classes`);
    let n = this.classes.length + 1;
    name = name?.trim() || `Class ${n}`;
    while (this.classes.some((c) => c.name === name)) name = `Class ${++n}`;
    const cls = { id: newId("c"), name };
    this.classes.push(cls);
    this.enqueue(() => this.session?.addClass(name));
    this.save();
    this.changed("classes");
    return cls;
  }

  /** Renames a class; throws if the name is empty or taken. */
  renameClass(classId, name) {
    name = name.trim();
    const index = this.indexOf(classId);
    if (!name) throw new Error("a class needs a name");
    if (this.classes.some((c, i) => i !== index && c.name === name)) throw new Error(`there is already a class named “${name}”`);
    if (this.classes[index].name === name) return;
    this.classes[index].name = name;
    this.enqueue(() => this.session?.renameClass(index, name));
    this.save();
    this.changed("classes");
  }

  /** Removes a class and its samples; returns a function that undoes it. */
  removeClass(classId) {
    const index = this.indexOf(classId);
    const [cls] = this.classes.splice(index, 1);
    const removed = this.samplesOf(classId);
    for (const s of removed) this.samples.delete(s.id);
    this.enqueue(() => this.forget(removed, () => this.session?.removeClass(index)));
    this.persistRemoval(removed);
    this.changed("classes");
    return () => {
      this.classes.splice(Math.min(index, this.classes.length), 0, cls);
      this.enqueue(async () => {
        await this.session?.addClass(cls.name);
        await this.session?.moveClass(this.classes.length - 1, this.indexOf(cls.id));
      });
      this.restore(removed, cls.name);
    };
  }

  /** Moves a class one place up (`-1`) or down (`+1`). */
  moveClass(classId, delta) {
    const from = this.indexOf(classId);
    const to = from + delta;
    if (to < 0 || to >= this.classes.length) return;
    const [cls] = this.classes.splice(from, 1);
    this.classes.splice(to, 0, cls);
    this.enqueue(() => this.session?.moveClass(from, to));
    this.save();
    this.changed("classes");
  }

  /** Removes every sample of a class; returns a function that undoes it. */
  clearClass(classId) {
    const removed = this.samplesOf(classId);
    for (const s of removed) this.samples.delete(s.id);
    const index = this.indexOf(classId);
    this.enqueue(() => this.forget(removed, () => this.session?.clearClass(index)));
    this.persistRemoval(removed);
    this.changed("samples");
    return () => this.restore(removed, this.classes[this.indexOf(classId)]?.name);
  }

  /** Removes samples by id. */
  removeSamples(ids) {
    const removed = ids.map((id) => this.samples.get(id)).filter(Boolean);
    for (const s of removed) this.samples.delete(s.id);
    this.enqueue(() => this.forget(removed, () => Promise.all(removed.map((s) => this.session?.removeSample(s.id)))));
    this.persistRemoval(removed);
    this.changed("samples");
  }

  /** Moves a sample to another class. */
  relabelSample(id, classId) {
    const sample = this.samples.get(id);
    const cls = this.classes[this.indexOf(classId)];
    if (!sample || !cls) return;
    sample.classId = classId;
    this.enqueue(() => this.session?.relabelSample(id, cls.name));
    this.save([sample]);
    this.changed("samples");
  }

  /** Runs a session removal and forgets that the session held `removed`. */
  async forget(removed, removal) {
    await removal();
    for (const s of removed) this.inSession.delete(s.id);
  }

  /** Deletes removed samples from storage (unless read-only), then saves. */
  async persistRemoval(removed) {
    try {
      if (!this.readOnly) await this.storage.deleteSamples(this.id, removed.map((s) => s.id));
    } catch (error) {
      this.saveError = error;
    }
    this.save();
  }

  /** Puts removed samples back (undo). */
  restore(removed, label) {
    for (const s of removed) this.samples.set(s.id, s);
    this.save(removed);
    this.changed("classes");
    for (const s of removed) this.enqueueEmbed(s, label);
  }

  /** Adds a captured frame (an `ImageData` square from `frames`) to a class: it is shown and
   * saved at once, and embedded in the background, or not at all when `embedding` holds its
   * rows (a live prediction's). Resolves when it is in the session. */
  async addCapture(classId, image, embedding = null) {
    // Pending from the start, so training (and a test) waits for a frame still being encoded.
    this.pending += 1;
    // Numbered as captured: encodes may finish out of order (a camera switch, a busy machine).
    const seq = this.record.nextSeq++;
    let jpeg;
    try {
      jpeg = await frames.jpegOf(image);
    } catch (error) {
      this.pending -= 1;
      this.changed("pending");
      throw error;
    }
    // `enqueueEmbed` counts it again below, with nothing awaited in between.
    this.pending -= 1;
    const sample = { id: newId("s"), projectId: this.id, classId, seq, jpeg, embedding };
    this.samples.set(sample.id, sample);
    this.save([sample]);
    this.changed("samples");
    return this.enqueueEmbed(sample, this.classes[this.indexOf(classId)].name);
  }

  /** Adds image files to a class, in order; resolves to the messages of those that could not be
   * decoded (skipped). They count as pending from the start, so training waits for all. */
  async addFiles(classId, files) {
    const failed = [];
    this.pending += files.length;
    this.changed("pending");
    for (const file of files) {
      try {
        await this.addCapture(classId, await frames.decode(file, file.name));
      } catch (error) {
        failed.push(error?.message ?? String(error));
      } finally {
        this.pending -= 1;
        this.changed("pending");
      }
    }
    return failed;
  }

  /** Says whether the camera is recording into this project. Frames are embedded as they are
   * captured (one backbone pass each, in the client's pool), and views between them. */
  setRecording(on) {
    this.recording = on;
    this.fillViews();
  }

  /** Whenever no sample waits to be embedded and nothing trains (recording or not), embeds the
   * augmented views the next training needs, a few samples at a time, so that Train finds them
   * done: a frame captured meanwhile goes first, as does anything else queued. */
  fillViews() {
    if (this.filling) return;
    const idle = () => this.session && this.pending === 0 && !this.training;
    this.filling = (async () => {
      // Samples just captured are embedded first (their calls are queued before this one).
      await this.queue;
      while (idle()) {
        const session = this.session;
        const engines = 1 + (client.pool?.size ?? 0);
        const most = (this.recording ? 1 : VIEWS_AT_ONCE) * engines;
        const left = await this.enqueue(() => (idle() ? session.embedViews(most) : 0));
        if (!left) break;
      }
    })().catch(() => {}).finally(() => { this.filling = null; });
  }

  /** Embeds a sample in the session, after everything queued before it. */
  enqueueEmbed(sample, label) {
    this.pending += 1;
    this.changed("pending");
    return this.enqueue(async () => {
      // A sample removed while it waited is skipped.
      if (!this.session || !this.samples.has(sample.id)) return;
      await this.embed(this.session, sample, label);
    }).finally(() => {
      this.pending -= 1;
      this.changed("pending");
      if (this.pending === 0) this.fillViews();
    });
  }

  /** Updates settings (a partial object). */
  async setSettings(settings) {
    this.record.settings = await clean({ ...this.settings, ...settings });
    this.save();
  }

  /** Renames the project. */
  rename(name) {
    name = name.trim();
    if (!name) throw new Error("a project needs a name");
    this.record.name = name;
    this.save();
    this.changed("classes");
  }

  /** Switches the backbone (call `start` next: samples are embedded again); a trained model
   * no longer fits. */
  async setBackbone(backbone) {
    this.record.backbone = backbone;
    this.record.model = null;
    this.record.modelLabels = null;
    for (const s of this.samples.values()) s.embedding = null;
    await this.save([...this.samples.values()]);
    this.changed("model");
  }

  /** Trains on every sample with the project's settings, calling `onModel(report)` when a model
   * goes live (the instant one first) and `onEpoch(report)` after each epoch; the model is
   * saved with the project. Resolves to the API's training summary. */
  async train(options, onEpoch, onModel = () => {}) {
    // Every sample being captured or uploaded now is part of this training.
    while (this.pending > 0) await new Promise((resolve) => this.addEventListener("change", resolve, { once: true }));
    this.training = true;
    return this.recovering(() => this.enqueue(async () => {
      const session = this.session;
      if (!session) throw new Error("the model is still loading");
      /** The revision of classes and samples the model is trained on. */
      this.trainedRevision = this.revision;
      const summary = await session.train(options, onEpoch, (report) => {
        this.changed("model");
        onModel(report);
      });
      // A session replaced meanwhile (after a fault) keeps the model it has.
      if (session !== this.session) throw new Error("training was interrupted");
      this.record.model = await session.save();
      this.record.modelLabels = session.info().modelLabels;
      this.lastTraining = summary;
      await this.save();
      this.changed("model");
      // The model is live and saved: training is done. Then (next in the queue, not waited
      // for) the samples' rows, which change with augmentation or fine-tune settings, are stored.
      this.enqueue(() => this.storeEmbeddings(session)).catch(() => {});
      return summary;
    })).finally(() => {
      this.training = false;
      this.fillViews();
    });
  }

  /** Stores the rows `session` holds for each sample where they differ from the stored ones (so
   * that a reload does not compute them again). Samples captured during a training are embedded
   * after it, with the new settings. */
  async storeEmbeddings(session) {
    const changed = [];
    for (const sample of this.samples.values()) {
      if (session !== this.session || !this.inSession.has(sample.id)) continue;
      const embedding = await session.sampleEmbedding(sample.id);
      if (!sameEmbedding(embedding, sample.embedding)) {
        sample.embedding = embedding;
        changed.push(sample);
      }
    }
    if (changed.length) await this.save(changed);
  }

  /** Stops training at its next batch. */
  cancelTraining() {
    this.session?.cancel();
  }

  /** Evaluation of the model on every sample. */
  evaluate() {
    return this.recovering(() => this.enqueue(() => this.session.evaluate()));
  }

  /** Prediction for an `ImageData` square (see the API's `predict`; `options.embedding` asks
   * for its rows, which `addCapture` takes). */
  predict(image, options) {
    if (!this.session?.info().trained) return Promise.reject(new Error("train a model first"));
    return this.recovering(() => this.session.predict(image, options));
  }

  /** The model's "not sure" threshold, or null without a model. */
  get threshold() {
    return this.session?.info().trained ? this.session.info().threshold ?? 0 : null;
  }

  /** Sets the model's "not sure" threshold (0 to 1) and saves the model with it. */
  async setThreshold(threshold) {
    await this.enqueue(async () => {
      const session = this.session;
      await session.setThreshold(threshold);
      if (this.record.model) this.record.model = await session.save();
    });
    await this.save();
    this.changed("model");
  }

  /** Runs `call()`; when the GPU device was lost, goes on with the CPU (the samples and the
   * model are kept) and runs it once more. */
  async recovering(call) {
    try {
      return await call();
    } catch (error) {
      if (!deviceLost(error)) throw error;
      await this.recoverOnCpu();
      return call();
    }
  }

  /** Restarts the session on the CPU, once however many calls saw the device go. */
  recoverOnCpu() {
    this.recovery ??= (async () => {
      this.gpuLost = true;
      this.changed("device-lost");
      await this.start(this.sessionOptions, this.progress);
    })().finally(() => { this.recovery = null; });
    return this.recovery;
  }

  /** Frees the session and stops listening for engine faults: the project is put away. */
  dispose() {
    this.unfault?.();
    this.unfault = null;
    this.close();
  }

  /** Frees the session once the call running on it (if any) is done. */
  close() {
    const session = this.session;
    this.session = null;
    // A training still running stops at its next batch.
    session?.cancel();
    this.queue.finally(() => session?.free());
  }
}
