// <magpie-trainer>: the capture → train → preview flow in any page. Hold a class's button to
// record examples from the camera, press Train, and see live predictions; the trained model is
// emitted as a `model` event ({ bytes, labels }) and returned by `save()`; as ONNX by
// `exportOnnx()` and the "Export model → ONNX" button; the whole project (classes, examples,
// model) by `saveProject()`, opened again by `loadProject()`.
//
// Attributes: backbone (default: the engine's, MobileNetV2), backend ("auto" | "wgpu" | "cpu"), classes
// (comma-separated starting class names, default "Class 1,Class 2"), camera ("user" |
// "environment"), mirror, rate (examples per second while holding, default 5), project (URL of a
// project file to open at start). Events: `ready`,
// `progress` (an epoch report), `live` (a model went live), `model`, `prediction` ({ label,
// probability, scores, unsure }: `label` is "unknown" when the model is not sure), `correct` ({
// label }: a previewed frame was added to a class), `error`. While it previews, "Add this frame"
// (or C with the focus in the widget) adds the frame shown to the class picked, reusing its
// rows, and trains again. Parts: `video`, `classes`, `train`, `export`, `verdict`, `bars`, `bar`,
// `label`, `fill`, `correct`; custom properties as <magpie-classifier>.
import { api, faulted, reportFaults } from "./api.js";
import { capture, square } from "../engine/frames.js";
import { BARS_STYLE, barRows, emit, predictionDetail, verdict } from "./bars.js";

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
    this.video = this.root.querySelector("video");
    this.session = null;
    this.classes = [];
    this.recording = null;
    this.root.querySelector(".add").addEventListener("click", () => this.addClass());
    this.root.querySelector(".train").addEventListener("click", () => this.train());
    this.root.querySelector(".export").addEventListener("click", () => this.downloadOnnx());
    this.root.querySelector(".add-frame").addEventListener("click", () => this.correct());
    this.addEventListener("keydown", (e) => {
      const typing = e.composedPath()[0]?.closest?.("input, select, textarea");
      if (e.key.toLowerCase() !== "c" || e.repeat || typing || e.ctrlKey || e.metaKey || e.altKey) return;
      if (this.root.querySelector(".correct").hidden) return;
      e.preventDefault();
      this.correct();
    });
  }

  async connectedCallback() {
    this.unreport ??= reportFaults(this, emit);
    if (this.session) return;
    const names = new Set((this.getAttribute("classes") ?? "Class 1,Class 2").split(",").map((n) => n.trim()).filter(Boolean));
    for (const name of names) this.addClass(name);
    try {
      this.status("Loading…");
      const backend = this.getAttribute("backend") ?? "auto";
      this.session = await api.FewShotSession.create({
        backbone: this.getAttribute("backbone") ?? undefined, backend, headBackend: backend,
      });
      if (this.hasAttribute("project")) await this.loadProject(new URL(this.getAttribute("project"), document.baseURI).href);
      const facingMode = this.getAttribute("camera") ?? "user";
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode }, audio: false });
      this.video.srcObject = this.stream;
      this.video.classList.toggle("mirrored", this.hasAttribute("mirror"));
      await this.video.play();
      this.status("Hold a class's button to record examples.");
      emit(this, "ready", {});
      this.update();
    } catch (error) {
      this.fail(error);
    }
  }

  disconnectedCallback() {
    this.unreport?.();
    this.unreport = null;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.previewing = false;
  }

  /** Adds a class row; refused if a class has that name. */
  addClass(name = this.freeName()) {
    if (this.classes.some((c) => c.name === name)) throw new Error(`there is already a class named '${name}'`);
    const row = document.createElement("div");
    row.className = "row";
    const input = Object.assign(document.createElement("input"), { value: name, ariaLabel: "Class name" });
    const count = Object.assign(document.createElement("span"), { className: "count", textContent: "0 examples" });
    const record = Object.assign(document.createElement("button"), { type: "button", textContent: "Hold to record" });
    const entry = { input, count, record, examples: 0 };
    record.addEventListener("pointerdown", () => this.record(entry));
    record.addEventListener("keydown", (e) => { if ((e.key === " " || e.key === "Enter") && !e.repeat) this.record(entry); });
    for (const type of ["pointerup", "pointerleave", "pointercancel", "keyup", "blur"]) {
      record.addEventListener(type, () => { if (this.recording === entry) this.recording = null; });
    }
    input.addEventListener("change", () => this.rename(entry));
    entry.name = name;
    row.append(input, count, record);
    this.root.querySelector(".classes").append(row);
    this.classes.push(entry);
  }

  /** "Class N" for the smallest N no class is named. */
  freeName() {
    let n = this.classes.length + 1;
    while (this.classes.some((c) => c.name === `Class ${n}`)) n += 1;
    return `Class ${n}`;
  }

  /** Renames a class in the session (refused names, empty or another row's, go back). */
  rename(entry) {
    try {
      const name = entry.input.value.trim();
      if (!name) throw new Error("a class needs a name");
      if (this.classes.some((other) => other !== entry && other.name === name)) throw new Error(`there is already a class named '${name}'`);
      if (this.session && entry.examples) this.session.renameClass(this.session.info().labels.indexOf(entry.name), name).catch((e) => this.fail(e));
      entry.name = name;
    } catch (error) {
      entry.input.value = entry.name;
      this.fail(error);
    }
  }

  /** Shows `examples` as the count of `entry`. */
  count(entry, examples) {
    entry.examples = examples;
    entry.count.textContent = `${examples} example${examples === 1 ? "" : "s"}`;
  }

  /** Records examples into `entry` while its button is held. */
  async record(entry) {
    if (!this.session || this.recording) return;
    this.recording = entry;
    entry.record.classList.add("recording");
    const interval = 1000 / Number(this.getAttribute("rate") ?? 5);
    while (this.recording === entry) {
      const started = performance.now();
      try {
        // The page's capture policy: the centred square, as a JPEG (engine/frames.js).
        await this.session.addExample(entry.name, await capture(this.video));
        this.count(entry, entry.examples + 1);
      } catch (error) {
        this.fail(error);
        break;
      }
      this.update();
      await new Promise((r) => setTimeout(r, Math.max(0, interval - (performance.now() - started))));
    }
    this.recording = null;
    entry.record.classList.remove("recording");
  }

  update() {
    this.root.querySelector(".train").disabled = !this.session || this.classes.filter((c) => c.examples).length < 2;
    this.root.querySelector(".export").disabled = !this.session?.info().trained;
  }

  /** Trains on the recorded examples, then previews live and emits the model; examples added
   * meanwhile are trained on again right after. */
  train() {
    if (this.training) {
      this.again = true;
      return this.training;
    }
    this.training = (async () => {
      try {
        do {
          this.again = false;
          await this.trainOnce();
        } while (this.again);
      } finally {
        this.training = null;
      }
    })();
    return this.training;
  }

  async trainOnce() {
    const progress = this.root.querySelector("progress");
    progress.hidden = false;
    progress.value = 0;
    try {
      this.status("Training…");
      const options = await api.trainOptions({});
      const summary = await this.session.train(options, (report) => {
        progress.value = report.epoch / options.epochs;
        emit(this, "progress", report);
      }, (model) => {
        // The instant model predicts while the head trains.
        if (model.instant) this.status("Instant model live; training a better one…");
        emit(this, "live", model);
        this.preview();
      });
      progress.value = 1;
      const bytes = await this.session.save();
      this.status(`Trained in ${(summary.elapsedMs / 1000).toFixed(1)} s.`);
      emit(this, "model", { bytes, labels: this.session.info().modelLabels });
      this.update();
      this.preview();
    } catch (error) {
      this.fail(error);
    }
  }

  /** The trained model's bytes (the format `<magpie-classifier model>` loads). */
  save() {
    if (!this.session) return Promise.reject(new Error("the widget is still loading"));
    return this.session.save();
  }

  /** The trained model and its backbone as an ONNX file's bytes (see docs/model-format.md);
   * `options`: `{ precision: "f32" | "f16" }`. */
  exportOnnx(options) {
    if (!this.session) return Promise.reject(new Error("the widget is still loading"));
    return this.session.exportOnnx(options);
  }

  /** "Export model → ONNX": offers the ONNX file as a download, named after the backbone. */
  async downloadOnnx() {
    try {
      this.status("Exporting…");
      const bytes = await this.exportOnnx();
      const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
      const name = `magpie-${this.session.info().backbone}.onnx`;
      Object.assign(document.createElement("a"), { href: url, download: name }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      this.status(`Exported ${name}.`);
    } catch (error) {
      this.fail(error);
    }
  }

  /** The whole project (classes, every example's image, the model) as a project file:
   * `options` as the API's `saveProject` (`{ name, settings, imageType, quality }`). */
  saveProject(options) {
    if (!this.session) return Promise.reject(new Error("the widget is still loading"));
    return this.session.saveProject(options);
  }

  /** Opens a project file (bytes or URL) made with this widget's backbone, replacing the
   * classes and examples; previews at once if it holds a model. */
  async loadProject(file) {
    if (!this.session) throw new Error("the widget is still loading");
    const loaded = await this.session.loadProject(file);
    this.root.querySelector(".classes").replaceChildren();
    this.classes = [];
    loaded.labels.forEach((label, i) => {
      this.addClass(label);
      this.count(this.classes[i], loaded.counts[i]);
    });
    this.update();
    if (loaded.trained) this.preview();
    return loaded;
  }

  async preview() {
    if (this.previewing) return;
    this.previewing = true;
    while (this.previewing && this.isConnected) {
      if (!this.recording && this.video.readyState >= 2) {
        try {
          const image = square(this.video);
          const prediction = await this.session.predict(image, { embedding: true });
          this.shown = { image, embedding: prediction.embedding };
          this.show(prediction);
          emit(this, "prediction", predictionDetail(prediction));
        } catch (error) {
          // After an engine fault (reported once, by reportFaults) the client rebuilds the
          // session on the next call: go on.
          if (!faulted(error)) throw error;
        }
      }
      await new Promise((r) => requestAnimationFrame(r));
    }
  }

  show(prediction) {
    this.root.querySelector(".verdict").textContent = verdict(prediction);
    this.root.querySelector("ul").replaceChildren(...barRows(prediction.scores, prediction.unsure));
    const row = this.root.querySelector(".correct");
    if (row.hidden) row.hidden = false;
    const select = row.querySelector("select");
    const names = this.classes.map((c) => c.name);
    if ([...select.options].map((o) => o.value).join("\n") !== names.join("\n")) {
      const chosen = select.value;
      select.replaceChildren(...names.map((name) => new Option(name, name, false, name === chosen)));
    }
  }

  /** Adds the frame shown to the class picked (its rows reused: no backbone pass), then trains
   * again. */
  async correct() {
    const shown = this.shown;
    const name = this.root.querySelector(".correct select").value;
    const entry = this.classes.find((c) => c.name === name);
    if (!shown || !entry) return;
    try {
      // The session takes no example while it trains: stop that training (the model live now
      // stays) and train again with the frame.
      if (this.training) {
        this.session.cancel();
        await this.training;
      }
      await this.session.addExample(name, shown.image, { embedding: shown.embedding });
      this.count(entry, entry.examples + 1);
      emit(this, "correct", { label: name });
      this.train();
    } catch (error) {
      this.fail(error);
    }
  }

  status(text) {
    this.root.querySelector(".status").textContent = text;
  }

  fail(error) {
    const message = error?.message ?? String(error);
    this.status(message);
    emit(this, "error", { message });
  }
}

customElements.get("magpie-trainer") ?? customElements.define("magpie-trainer", MagpieTrainer);
