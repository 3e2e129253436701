// The magpie page: classes → capture → train → preview, with projects saved in IndexedDB. It
// uses the engine through its one JS client (engine/client.js), like the widgets: the engine
// runs in a worker, so the page's thread stays free for the camera and the controls.
import { $, formatBytes, messageOf, notice, status, toast } from "./app/dom.js";
import * as store from "./app/store.js";
import { Project, newId } from "./app/project.js";
import { Camera } from "./app/camera.js";
import { Recorder } from "./app/capture.js";
import { ClassesView } from "./app/classes-view.js";
import { TrainingView } from "./app/training-view.js";
import { ResultsView } from "./app/results-view.js";
import { PreviewView } from "./app/preview-view.js";
import { download, projectFile, readProjectFile, safeName } from "./app/files.js";
import { api, client, onFault } from "./engine/client.js";
import { lockProject } from "./app/tab-lock.js";

/** What the backbone picker says about each backbone. */
const BACKBONES = {
  mobilenet_v2: "MobileNetV2 1.0 (default)",
  efficientnet_lite0: "EfficientNet-Lite0",
  mobilenet_v1_025: "MobileNetV1 0.25 (smallest, fastest)",
  vgg16: "VGG16 (textbook; large)",
};
/** Backbones offered only when their weights are served (a user converts them; see README). */
const OPT_IN = new Set(["vgg16"]);
const params = new URLSearchParams(location.search);
const LAST = "magpie.project";
const BACKEND = "magpie.backend";
const PLACEMENT = "magpie.placement.";

/** The page: owns the current project and the shared camera; views render from it. */
class App {
  constructor() {
    this.project = null;
    this.camera = new Camera($("video"));
    this.recorder = new Recorder(this.camera, null, {
      rate: () => Number($("capture-rate").value) || 10,
      report: (error) => status(messageOf(error), "error"),
    });
    this.classes = new ClassesView(this);
    this.training = new TrainingView(this);
    this.results = new ResultsView(this);
    this.preview = new PreviewView(this);
    this.recorder.addEventListener("change", () => this.classes.render());
    this.camera.addEventListener("state", (e) => {
      $("camera-toggle").textContent = e.detail.on ? "Stop camera" : "Start camera";
      $("camera-off").hidden = e.detail.on;
      this.render();
      if (e.detail.error) status(`Capture stopped: ${e.detail.error}. Your samples are kept.`, "error");
      if (e.detail.on) this.listCameras();
    });
    this.wire();
  }

  /** Shows a training summary's evaluation. */
  showResults(summary) {
    return this.results.show(summary);
  }

  /** Timed-recording settings. */
  captureSettings() {
    return { delay: Number($("capture-delay").value) || 0, duration: Number($("capture-duration").value) || 1 };
  }

  /** Session options: the CPU once the GPU was lost; else the chosen backend for both stages;
   * on "automatic", the placement measured for this backbone on an earlier visit (measuring
   * takes a few passes). */
  sessionOptions(backbone) {
    if (this.gpuLost) return { backend: "cpu", headBackend: "cpu" };
    const backend = $("backend").value;
    if (backend !== "auto") return { backend, headBackend: backend };
    const remembered = JSON.parse(localStorage.getItem(`${PLACEMENT}${backbone}`) ?? "null");
    return remembered ? { backend: remembered.backbone, headBackend: remembered.head } : { backend, headBackend: backend };
  }

  wire() {
    $("camera-toggle").addEventListener("click", async () => {
      try {
        this.camera.on ? this.camera.stop() : await this.camera.start($("camera-select").value || undefined);
      } catch (error) {
        status(messageOf(error), "error");
      }
    });
    $("camera-select").addEventListener("change", async (e) => {
      const recording = this.recorder.classId;
      try {
        await this.camera.start(e.target.value);
        if (recording) this.recorder.start(recording);
      } catch (error) {
        status(messageOf(error), "error");
      }
    });
    $("mirror").checked = this.camera.mirror;
    $("mirror").addEventListener("change", (e) => this.camera.setMirror(e.target.checked));
    for (const id of client.catalogue.backbones) if (!OPT_IN.has(id)) $("backbone").append(new Option(BACKBONES[id] ?? id, id));
    $("backbone").addEventListener("change", (e) => this.switchBackbone(e.target.value));
    $("backend").value = localStorage.getItem(BACKEND) ?? "auto";
    $("backend").addEventListener("change", (e) => {
      localStorage.setItem(BACKEND, e.target.value);
      this.startSession();
    });
    $("project-select").addEventListener("change", (e) => this.open(e.target.value));
    $("project-name").addEventListener("change", (e) => {
      try { this.project.rename(e.target.value); } catch (error) { e.target.value = this.project.name; status(messageOf(error), "error"); }
      this.listProjects();
    });
    $("project-new").addEventListener("click", () => this.create());
    $("project-delete").addEventListener("click", () => this.deleteProject());
    $("project-export").addEventListener("click", () => this.exportProject());
    $("project-import").addEventListener("change", (e) => {
      const file = e.target.files[0];
      e.target.value = "";
      if (file) this.importProject(file);
    });
    $("model-export").addEventListener("click", () => {
      if (this.project.model) safeName(this.project.name).then((name) => download(this.project.model, `${name}.model.bpk`));
    });
    $("model-export-onnx").addEventListener("click", () => this.exportOnnx());
  }

  /** Fills the camera picker (labels need a granted permission). */
  async listCameras() {
    const devices = await this.camera.devices();
    const chosen = this.camera.stream?.getVideoTracks()[0]?.getSettings?.().deviceId ?? this.camera.chosen;
    $("camera-select").replaceChildren(...devices.map((d) => new Option(d.label, d.deviceId, false, d.deviceId === chosen)));
  }

  /** Fills the project picker. */
  async listProjects() {
    const projects = await store.listProjects().catch(() => []);
    if (this.project && !projects.some((p) => p.id === this.project.id)) projects.unshift(this.project.record);
    $("project-select").replaceChildren(...projects.map((p) =>
      new Option(p.id === this.project?.id ? this.project.name : p.name, p.id, false, p.id === this.project?.id)));
  }

  /** Shows storage use. */
  async showUsage() {
    const { used, quota } = await store.usage();
    $("storage").textContent = quota ? `Storage: ${formatBytes(used)} of ${formatBytes(quota)}` : "";
  }

  /** Makes `project` current (taking it from another tab that has it open when `steal`):
   * renders it and loads its session. */
  async show(project, steal = false) {
    this.recorder.stop();
    this.project?.close();
    await this.lock?.release();
    this.lock = null;
    this.project = project;
    this.recorder.project = project;
    localStorage.setItem(LAST, project.id);
    project.addEventListener("change", (e) => this.changed(project, e.detail.what));
    await this.claim(project, steal);
    this.showSaving(project);
    $("project-name").value = project.name;
    $("backbone").value = project.backbone;
    this.results.clear();
    this.preview.clear();
    this.training.showSettings();
    this.render();
    this.listProjects();
    await this.startSession();
  }

  /** Holds `project`'s lock in this tab; when another tab has the project open, this tab
   * opens it read-only (saving nothing) and says so, offering to take it over. */
  async claim(project, steal) {
    const lock = await lockProject(project.id, { steal, lost: () => this.lockLost(project) });
    if (project !== this.project) return lock.release();
    this.lock = lock;
    project.readOnly = !lock.held;
    notice("lock", lock.held ? null : `“${project.name}” is open in another tab. This tab does not save changes to it, ` +
      "so the other tab's work is never overwritten. Close the other tab and choose “Take over” (this opens the saved " +
      "project here), or use “Export project” to keep a copy of changes made here.", this.takeOver(project));
  }

  /** Another tab took `project` over: this tab stops saving it and says so. */
  lockLost(project) {
    project.readOnly = true;
    if (project !== this.project) return;
    notice("lock", `Another tab took over “${project.name}”. Changes made here are no longer saved: use “Export project” ` +
      "to keep a copy, or “Take over” to open the saved project here again.", this.takeOver(project));
    status(`Another tab took over “${project.name}”: this tab no longer saves it.`, "error");
  }

  /** The "Take over" action: opens the saved `project` here, taking it from the other tab. */
  takeOver(project) {
    return { label: "Take over", run: () => this.open(project.id, true) };
  }

  /** Says, lastingly, whether the project is not being saved, and why. */
  showSaving(project) {
    notice("saving", project.saveError && `Not saved in this browser: ${messageOf(project.saveError)}. ` +
      "Your work is kept in this tab only: use “Export project” to keep a copy.");
  }

  /** Loads the project's backbone (again), re-adding its samples; `note` is added to the
   * ready message. */
  async startSession(note = "") {
    const project = this.project;
    const name = BACKBONES[project.backbone]?.replace(/ \(.*/, "") ?? project.backbone;
    status(`Loading ${name}…`);
    this.render();
    const started = performance.now();
    const progress = (done, total) => status(`Loading ${name}… restored ${done} of ${total} samples`);
    try {
      try {
        await project.start(this.sessionOptions(project.backbone), progress);
      } catch (error) {
        // A remembered placement may name a backend this browser no longer has: measure again.
        if (!/not available/.test(messageOf(error))) throw error;
        localStorage.removeItem(`${PLACEMENT}${project.backbone}`);
        await project.start(this.sessionOptions(project.backbone), progress);
      }
      if (project !== this.project) return;
      const info = project.sessionInfo;
      const where = (b) => (b === "wgpu" ? "WebGPU" : "CPU");
      const placement = info.placement;
      const measured = placement.measured.find((m) => m[0] === placement.backbone)?.[1];
      if (measured) {
        localStorage.setItem(`magpie.speed.${project.backbone}`, measured.backboneMs.toFixed(0));
        localStorage.setItem(`${PLACEMENT}${project.backbone}`, JSON.stringify({ backbone: placement.backbone, head: placement.head }));
      }
      const notice = placement.fallbackReason ? ` WebGPU unavailable (${placement.fallbackReason}); using the CPU.` : "";
      status(`${name} ready on ${where(placement.backbone)}` +
        (placement.head !== placement.backbone ? ` (head on ${where(placement.head)})` : "") +
        ` in ${((performance.now() - started) / 1000).toFixed(1)} s.${notice}${note ? ` ${note}` : ""}`,
        notice || note ? "warning" : "info");
      $("backend-shown").textContent = `Backbone on ${where(placement.backbone)}, head on ${where(placement.head)}.`;
      await this.describeBackbones();
      const served = this.weights.find((w) => w.id === project.backbone)?.file;
      keepOffline([...(served ? [`www/weights/${served}`] : []), "www/weights/index.json"]);
    } catch (error) {
      if (project === this.project) status(`Could not load the model: ${messageOf(error)}. Your samples are kept.`, "error");
    }
    this.render();
  }

  /** Backbone picker details: download sizes (from the served weights index) and the speed
   * measured here. */
  async describeBackbones() {
    this.weights ??= await fetch("www/weights/index.json").then((r) => r.json()).catch(() => []);
    const picker = $("backbone");
    for (const id of OPT_IN) {
      const served = this.weights.some((w) => w.id === id) || this.project?.backbone === id;
      if (served && ![...picker.options].some((o) => o.value === id)) picker.append(new Option(BACKBONES[id] ?? id, id));
    }
    picker.value = this.project?.backbone ?? picker.value;
    for (const option of picker.options) {
      const bytes = this.weights.find((w) => w.id === option.value)?.bytes;
      option.textContent = `${BACKBONES[option.value] ?? option.value}${bytes ? ` · ${formatBytes(bytes)}` : ""}`;
    }
    const speed = localStorage.getItem(`magpie.speed.${picker.value}`);
    const large = OPT_IN.has(picker.value)
      ? "A large download that needs about 1 GB of memory, and slow without a GPU. " : "";
    $("backbone-info").textContent = large + (speed ? `≈ ${speed} ms per frame on this device.` : "");
  }

  /** Reacts to a project change. */
  changed(project, what) {
    if (project !== this.project) return;
    if (what === "device-lost") {
      this.gpuLost = true;
      status("The GPU stopped working (device lost); going on with the CPU. Your samples and model are kept.", "warning");
      $("backend-shown").textContent = "Backbone on CPU, head on CPU.";
      return;
    }
    if (what === "saved") {
      if (project.saveError) status(`Not saved: ${messageOf(project.saveError)}. Use “Export project” to keep a copy.`, "error");
      this.showSaving(project);
      this.showUsage();
      return;
    }
    if (what === "classes" && project.modelStale) this.results.clear();
    this.render();
  }

  render() {
    if (!this.project) return;
    this.classes.render();
    this.training.render();
    this.preview.render();
    const trained = !!this.project.model;
    $("model-export").disabled = !trained;
    $("model-export-onnx").disabled = !trained;
    // First run: an empty project says the three steps where they happen.
    const empty = this.project.samples.size === 0 && !trained;
    $("first-run-camera").hidden = !empty || this.camera.on;
    $("first-run-classes").hidden = !empty;
    $("first-run-train").hidden = !empty;
    // The instant model predicts before the first training ends.
    $("preview-hint").textContent = trained || this.project.session?.info().trained
      ? (this.camera.on ? "" : "Start the camera, or classify an image file.")
      : "Train a model to see predictions.";
  }

  /** A new project (two empty classes), made current. */
  async create() {
    const count = (await store.listProjects().catch(() => [])).length;
    const project = await Project.create(`Project ${count + 1}`, params.get("backbone") ?? "mobilenet_v2");
    await project.save();
    await this.show(project);
  }

  /** Opens a stored project (taking it from another tab that has it open when `steal`). */
  async open(id, steal = false) {
    const project = await Project.load(id).catch((e) => { status(messageOf(e), "error"); return null; });
    if (project) await this.show(project, steal);
  }

  /** Switches the current project's backbone (samples are embedded again). */
  async switchBackbone(backbone) {
    if (this.project.model) toast("The trained model was made for the other backbone: train again.");
    await this.project.setBackbone(backbone);
    await this.startSession();
  }

  /** Deletes the current project (undoable for a few seconds). */
  async deleteProject() {
    const project = this.project;
    if (project.readOnly) {
      return status(`“${project.name}” is open in another tab: delete it there, or choose “Take over” first.`, "error");
    }
    const samples = [...project.samples.values()];
    await store.deleteProject(project.id).catch(() => {});
    const rest = await store.listProjects().catch(() => []);
    if (rest.length) await this.open(rest[0].id); else await this.create();
    toast(`Deleted project “${project.name}”.`, { label: "Undo", run: async () => {
      await store.saveWholeProject(project.record, samples);
      await this.open(project.id);
    } });
  }

  /** "Export model → ONNX": the trained model and its backbone as one ONNX file. */
  async exportOnnx() {
    try {
      status("Exporting the model as ONNX…");
      const bytes = await this.project.session.exportOnnx();
      const name = `${await safeName(this.project.name)}.onnx`;
      download(bytes, name);
      status(`Exported ${name} (${formatBytes(bytes.length)}).`);
    } catch (error) {
      status(`Export failed: ${messageOf(error)}`, "error");
    }
  }

  async exportProject() {
    try {
      await this.project.queue;
      download(await projectFile(this.project), `${await safeName(this.project.name)}.magpie.zip`, "application/zip");
    } catch (error) {
      status(`Export failed: ${messageOf(error)}`, "error");
    }
  }

  async importProject(file) {
    status(`Checking ${file.name}…`);
    try {
      const { record, samples } = await readProjectFile(file, newId);
      await store.saveWholeProject(record, samples);
      await this.open(record.id);
    } catch (error) {
      status(`Import refused, nothing was changed: ${messageOf(error)}`, "error");
    }
  }
}

/** Asks the service worker to keep `urls` for offline use. */
async function keepOffline(urls) {
  const registration = await navigator.serviceWorker?.ready;
  registration?.active?.postMessage({ keep: urls });
}

// The engine's JS API on `window.magpie`, for tests and the console.
window.magpie = { ...window.magpie, ...api, client };
await client.current();
// After an engine fault (the client has dropped its worker; the next call starts a fresh one):
// the project's session rebuilt from its samples and model (they live here and in IndexedDB).
onFault(async (message) => {
  status(`The engine stopped on an internal error (${message}) and restarts; your samples and model are kept.`, "error");
  await client.current();
  // A fresh engine asks for a fresh GPU device.
  app.gpuLost = false;
  await app.startSession("Restarted after an internal error; your samples and model are kept.");
});
const app = new App();
window.magpie.app = app;
// Offline after the first visit: the service worker keeps the app and its weights.
navigator.serviceWorker?.register("sw.js").catch(() => {});
const projects = await store.listProjects().catch((error) => {
  status(`Projects cannot be saved in this browser (${messageOf(error)}); work is kept in this tab only.`, "error");
  return [];
});
const last = localStorage.getItem(LAST);
const initial = projects.find((p) => p.id === last) ?? projects[0];
if (initial) await app.open(initial.id); else await app.create();
app.showUsage();
