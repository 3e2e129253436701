// <magpie-trainer>: the capture → train → preview flow in any page, a thin view over the same
// headless core as the magpie page (core/: the project and its samples, the camera, recording,
// training, the preview and its correction). Hold a class's button to record samples from the
// camera, press Train, and see live predictions; the trained model is emitted as a `model` event
// ({ bytes, labels }) and returned by `save()`; as ONNX by `exportOnnx()` and the "Export model →
// ONNX" button; as a Teachable Machine model by `exportTeachableMachine()`; as TF Lite by `exportTflite()`; the whole project (classes, samples, model) by `saveProject()`, opened again by
// `loadProject()`.
//
// Attributes: backbone (default: the engine's, MobileNetV2), backend ("auto" | "wgpu" | "cpu"), classes
// (comma-separated starting class names, default "Class 1,Class 2"), camera ("user" |
// "environment"), mirror, rate (samples per second while holding, default the page's, 10), project
// (URL of a project file to open at start). Events: `ready`, `progress` (an epoch report), `live`
// (a model went live), `model`, `prediction` ({ label, probability, scores, unsure }: `label` is
// "unknown" when the model is not sure), `correct` ({ label }: a previewed frame was added to a
// class), `error`. While it previews, "Add this frame" (or C with the focus in the widget) adds
// the frame shown to the class picked, reusing its rows, and trains again. Parts: `video`,
// `classes`, `train`, `export`, `verdict`, `bars`, `bar`, `label`, `fill`, `correct`; custom
// properties as <magpie-classifier>.
import { reportFaults } from "./api.js";
import { Project } from "../core/project.js";
import { Camera } from "../core/camera.js";
import { Recorder } from "../core/recorder.js";
import { Training } from "../core/training.js";
import { Preview } from "../core/preview.js";
import { projectFile, readProjectFile } from "../core/project-file.js";
import { holdToRecord } from "../ui/hold.js";
import { download } from "../ui/download.js";
import { BARS_STYLE, barRows, emit, predictionDetail, verdict } from "../ui/bars.js";

const STYLE = `
:host { display: inline-block; font: var(--magpie-font, 14px system-ui, sans-serif); min-width: 16rem; max-width: 28rem; }
video { width: 100%; aspect-ratio: 4 / 3; object-fit: cover; border-radius: .4rem; background: #000; display: block; }
video.mirrored { transform: scaleX(-1); }
.row { display: flex; gap: .4rem; align-items: center; margin: .35rem 0; flex-wrap: wrap; }
input { flex: 1; min-width: 5rem; font: inherit; }
button { font: inherit; touch-action: none; user-select: none; }
button.recording { background: #c53030; color: #fff; }
.count { color: #666; min-width: 4.5rem; }
progress { width: 100%; }
.status { min-height: 1.2em; margin: .3rem 0; }
.verdict { font-weight: 700; margin: .3rem 0 0; min-height: 1.2em; }
[hidden] { display: none !important; }
`;

/** The widget's styles, shared by every instance: a constructed sheet, which a host page's
 * Content-Security-Policy allows where a <style> element would need 'unsafe-inline'. */
const SHEET = new CSSStyleSheet();
SHEET.replaceSync(STYLE + BARS_STYLE);

/** The training widget. */
export class MagpieTrainer extends HTMLElement {
  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    this.root.adoptedStyleSheets = [SHEET];
    this.root.innerHTML = `<video part="video" playsinline muted></video>
      <div part="classes" class="classes"></div>
      <div class="row"><button type="button" class="add">Add a class</button>
      <button type="button" part="train" class="train" disabled>Train</button>
      <button type="button" part="export" class="export" disabled>Export model → ONNX</button></div>
      <progress max="1" value="0" hidden></progress><p class="status" role="status"></p>
      <p part="verdict" class="verdict" aria-live="polite"></p><ul part="bars"></ul>
      <div part="correct" class="row correct" hidden><label>Add it to <select></select></label>
      <button type="button" class="add-frame" aria-keyshortcuts="C">Add this frame (C)</button></div>`;
    this.$ = (selector) => this.root.querySelector(selector);
    this.video = this.$("video");
    this.project = null;
    /** Each class's row, by class id. */
    this.rows = new Map();
    this.$(".add").addEventListener("click", () => this.guard(() => this.addClass()));
    this.$(".train").addEventListener("click", () => this.train());
    this.$(".export").addEventListener("click", () => this.downloadOnnx());
    this.$(".add-frame").addEventListener("click", () => this.correct());
    this.addEventListener("keydown", (e) => {
      const typing = e.composedPath()[0]?.closest?.("input, select, textarea");
      if (e.key.toLowerCase() !== "c" || e.repeat || typing || e.ctrlKey || e.metaKey || e.altKey) return;
      if (this.$(".correct").hidden) return;
      e.preventDefault();
      this.correct();
    });
  }

  /** The core objects, made once the attributes are known. */
  core() {
    if (this.camera) return;
    this.camera = new Camera(this.video, {
      remember: false, facingMode: this.getAttribute("camera") ?? "user", mirror: this.hasAttribute("mirror"),
    });
    this.recorder = new Recorder(this.camera, null, {
      rate: () => Number(this.getAttribute("rate")), report: (error) => this.fail(error),
    });
    this.recorder.addEventListener("change", () => this.render());
    this.training = new Training();
    this.preview = new Preview(this.camera, this.recorder, this.training);
    this.follow();
  }

  async connectedCallback() {
    this.unreport ??= reportFaults(this, emit);
    this.core();
    try {
      this.status("Loading…");
      if (!this.project) {
        // Without the attribute, the core's starting classes.
        const names = this.getAttribute("classes");
        const classes = names === null ? undefined : [...new Set(names.split(",").map((n) => n.trim()).filter(Boolean))];
        this.use(await Project.create({ name: "magpie-trainer", backbone: this.getAttribute("backbone") ?? undefined, classes }));
      }
      await this.project.start(this.sessionOptions());
      if (this.hasAttribute("project") && !this.opened) {
        this.opened = true;
        await this.loadProject(new URL(this.getAttribute("project"), document.baseURI).href);
      }
      await this.camera.start();
      this.status("Hold a class's button to record samples.");
      emit(this, "ready", {});
      this.render();
    } catch (error) {
      this.fail(error);
    }
  }

  disconnectedCallback() {
    this.unreport?.();
    this.unreport = null;
    this.recorder?.stop();
    this.camera?.stop();
    this.project?.dispose();
  }

  /** The session options of the `backend` attribute. */
  sessionOptions() {
    const backend = this.getAttribute("backend") ?? "auto";
    return { backend, headBackend: backend };
  }

  /** Makes `project` the widget's (the one before is put away). */
  use(project) {
    this.project?.dispose();
    this.project = project;
    this.recorder.project = project;
    this.training.project = project;
    this.preview.project = project;
    this.preview.clear();
    project.addEventListener("change", () => this.render());
    this.render();
  }

  /** Adds a class (named `name`, or "Class N"; a taken name gets the next free "Class N"). */
  addClass(name) {
    if (!this.project) throw new Error("the widget is still loading");
    return this.project.addClass(name).name;
  }

  /** Runs `work`, reporting what it throws. */
  guard(work) {
    try {
      return work();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Brings the rows, buttons and correction picker up to the project's state. */
  render() {
    const project = this.project;
    if (!project) return;
    const list = this.$(".classes");
    const live = new Set(project.classes.map((c) => c.id));
    for (const [id, row] of this.rows) if (!live.has(id)) { row.root.remove(); this.rows.delete(id); }
    project.classes.forEach((cls, index) => {
      const row = this.rows.get(cls.id) ?? this.row(cls.id);
      if (list.children[index] !== row.root) list.insertBefore(row.root, list.children[index] ?? null);
      if (this.root.activeElement !== row.input) row.input.value = cls.name;
      const count = project.samplesOf(cls.id).length;
      row.count.textContent = `${count} sample${count === 1 ? "" : "s"}`;
      row.record.classList.toggle("recording", this.recorder.classId === cls.id);
    });
    const counts = project.classes.map((c) => project.samplesOf(c.id).length);
    this.$(".train").disabled = !project.session || counts.filter((n) => n > 0).length < 2;
    this.$(".export").disabled = !project.session?.info().trained;
    const select = this.$(".correct select");
    const options = project.classes.map((c) => `${c.id}\t${c.name}`).join("\n");
    if ([...select.options].map((o) => `${o.value}\t${o.textContent}`).join("\n") !== options) {
      const chosen = select.value;
      select.replaceChildren(...project.classes.map((c) => new Option(c.name, c.id, false, c.id === chosen)));
    }
  }

  /** A class's row: its name, its count, its record button. */
  row(classId) {
    const root = Object.assign(document.createElement("div"), { className: "row" });
    const input = Object.assign(document.createElement("input"), { ariaLabel: "Class name" });
    const count = Object.assign(document.createElement("span"), { className: "count" });
    const record = Object.assign(document.createElement("button"), { type: "button", textContent: "Hold to record" });
    holdToRecord(record, () => this.recorder.start(classId), () => {
      if (this.recorder.classId === classId) this.recorder.stop();
    });
    input.addEventListener("change", () => {
      try {
        this.project.renameClass(classId, input.value);
      } catch (error) {
        input.value = this.project.classes.find((c) => c.id === classId)?.name ?? "";
        this.fail(error);
      }
    });
    root.append(input, count, record);
    const row = { root, input, count, record };
    this.rows.set(classId, row);
    return row;
  }

  /** Shows the training and the preview as they go. */
  follow() {
    const progress = this.$("progress");
    this.training.addEventListener("start", () => {
      progress.hidden = false;
      progress.value = 0;
      this.status("Training…");
    });
    this.training.addEventListener("epoch", ({ detail: { report, epochs } }) => {
      progress.value = report.epoch / epochs;
      emit(this, "progress", report);
    });
    this.training.addEventListener("live", ({ detail: { report } }) => {
      // The instant model predicts while the head trains.
      if (report.instant) this.status("Instant model live; training a better one…");
      emit(this, "live", report);
      this.render();
    });
    this.training.addEventListener("done", ({ detail: { summary, seconds, again } }) => {
      if (again) return;
      progress.value = 1;
      this.status(summary.stop === "cancelled" ? "Training cancelled." : `Trained in ${seconds.toFixed(1)} s.`);
      if (this.project.model) emit(this, "model", { bytes: this.project.model, labels: this.project.record.modelLabels });
      this.render();
    });
    this.training.addEventListener("failed", ({ detail: { error } }) => this.fail(error));
    this.preview.addEventListener("prediction", ({ detail: { prediction } }) => {
      this.$(".verdict").textContent = verdict(prediction);
      this.$("ul").replaceChildren(...barRows(prediction.scores, prediction.unsure));
      this.$(".correct").hidden = false;
      emit(this, "prediction", predictionDetail(prediction));
    });
    this.preview.addEventListener("failed", ({ detail: { error } }) => this.fail(error));
  }

  /** Trains on the recorded samples (again, at once, when samples changed meanwhile); the
   * preview then shows the model live. Resolves when no training runs any more. */
  train() {
    if (!this.project) return Promise.reject(new Error("the widget is still loading"));
    return this.training.train();
  }

  /** The trained model's bytes (the format `<magpie-classifier model>` loads). */
  save() {
    if (!this.project?.session) return Promise.reject(new Error("the widget is still loading"));
    return this.project.session.save();
  }

  /** The trained model and its backbone as an ONNX file's bytes (see docs/model-format.md);
   * `options`: `{ precision: "f32" | "f16" }`. */
  exportOnnx(options) {
    if (!this.project?.session) return Promise.reject(new Error("the widget is still loading"));
    return this.project.session.exportOnnx(options);
  }

  /** The samples as a Teachable Machine image model (see the API's `exportTeachableMachine`):
   * the zip's bytes (`model.json`, `weights.bin`, `metadata.json`). */
  async exportTeachableMachine(options) {
    if (!this.project?.session) throw new Error("the widget is still loading");
    return (await this.project.session.exportTeachableMachine(options)).zip;
  }

  /** The trained model as a TensorFlow Lite file (see the API's `exportTflite`): `options`:
   * `{ precision: "f32" | "int8" }`; resolves to the `.tflite` file's bytes. */
  async exportTflite(options) {
    if (!this.project?.session) throw new Error("the widget is still loading");
    return (await this.project.session.exportTflite(options)).tflite;
  }

  /** "Export model → ONNX": offers the ONNX file as a download, named after the backbone. */
  async downloadOnnx() {
    try {
      this.status("Exporting…");
      const name = `magpie-${this.project.backbone}.onnx`;
      download(await this.exportOnnx(), name);
      this.status(`Exported ${name}.`);
    } catch (error) {
      this.fail(error);
    }
  }

  /** The whole project (classes, every sample's image, the model) as a project file's bytes
   * (docs/project-format.md); `options.name` names it. */
  async saveProject(options = {}) {
    if (!this.project) throw new Error("the widget is still loading");
    await this.project.queue;
    return projectFile(this.project, options);
  }

  /** Opens a project file (bytes, `Blob` or URL), replacing the classes and samples; previews at
   * once if it holds a model. Resolves to `{ name, labels, counts, trained, settings }`. */
  async loadProject(file) {
    if (!this.project) throw new Error("the widget is still loading");
    const { record, samples } = await readProjectFile(file);
    const opened = new Project(record, samples);
    this.use(opened);
    await opened.start(this.sessionOptions());
    this.render();
    return {
      name: opened.name,
      labels: opened.classes.map((c) => c.name),
      counts: opened.classes.map((c) => opened.samplesOf(c.id).length),
      trained: !!opened.model,
      settings: opened.settings,
    };
  }

  /** Adds the frame shown to the class picked (its rows reused: no backbone pass), then trains
   * again. */
  async correct() {
    try {
      const cls = await this.preview.correct(this.$(".correct select").value);
      if (cls) emit(this, "correct", { label: cls.name });
    } catch (error) {
      this.fail(error);
    }
  }

  status(text) {
    this.$(".status").textContent = text;
  }

  fail(error) {
    const message = error?.message ?? String(error);
    this.status(message);
    emit(this, "error", { message });
  }
}

customElements.get("magpie-trainer") ?? customElements.define("magpie-trainer", MagpieTrainer);
