// The magpie page: classes → capture → train → preview, with projects saved in IndexedDB. Its
// views draw the headless core (core/: the project with its samples, the camera, recording,
// training, the preview), as <magpie-trainer> does; the engine runs in a worker behind its one
// JS client (engine/client.js), so the page's thread stays free for the camera and the controls.
import { $, formatBytes, messageOf, notice, status, toast } from "./app/dom.js";
import * as store from "./app/store.js";
import { Project } from "./core/project.js";
import { Camera } from "./core/camera.js";
import { DEFAULT_RATE, Recorder } from "./core/recorder.js";
import { Training } from "./core/training.js";
import { Preview } from "./core/preview.js";
import { ClassesView } from "./app/classes-view.js";
import { TrainingView } from "./app/training-view.js";
import { ResultsView } from "./app/results-view.js";
import { PreviewView } from "./app/preview-view.js";
import { FilesView } from "./app/files-view.js";
import { api, client } from "./engine/client.js";
import { lockProject } from "./app/tab-lock.js";

/** The backbones the engine offers, as the picker shows them: `{ id, name, note, isDefault, optIn }`. */
const backbones = () => client.catalogue.backboneChoices;
/** The backbone `id` as the picker offers it, if the engine offers it. */
const choiceOf = (id) => backbones().find((b) => b.id === id);
/** A backbone's name, with its note ("MobileNetV2 1.0 (default)"). */
const labelOf = (id) => {
  const choice = choiceOf(id);
  return choice ? `${choice.name}${choice.note ? ` (${choice.note})` : ""}` : id;
};
/** A backbone's name alone. */
const nameOf = (id) => choiceOf(id)?.name ?? id;
const params = new URLSearchParams(location.search);
const LAST = "magpie.project";
const BACKEND = "magpie.backend";
const PLACEMENT = "magpie.placement.";

/** The page: owns the current project and the shared camera; views render from it. */
class App {
  constructor() {
    this.project = null;
    this.camera = new Camera($("video"));
    $("capture-rate").value ||= String(DEFAULT_RATE);
    this.recorder = new Recorder(this.camera, null, {
      rate: () => Number($("capture-rate").value),
      report: (error) => status(messageOf(error), "error"),
    });
    this.trainer = new Training();
    this.previewer = new Preview(this.camera, this.recorder, this.trainer);
    this.classes = new ClassesView(this);
    this.training = new TrainingView(this);
    this.results = new ResultsView(this);
    this.preview = new PreviewView(this);
    this.files = new FilesView(this);
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

  /** Session options: the chosen backend for both stages; on "automatic", the placement
   * measured for this backbone on an earlier visit (measuring takes a few passes). (After a
   * GPU device loss the project goes on with the CPU by itself.) */
  sessionOptions(backbone) {
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
    for (const b of backbones()) if (!b.optIn) $("backbone").append(new Option(labelOf(b.id), b.id));
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
    this.project?.dispose();
    await this.lock?.release();
    this.lock = null;
    this.project = project;
    this.recorder.project = project;
    this.trainer.project = project;
    this.previewer.project = project;
    localStorage.setItem(LAST, project.id);
    project.addEventListener("change", (e) => this.changed(project, e.detail));
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

  /** Loads the project's backbone (again), re-adding its samples. */
  async startSession() {
    const project = this.project;
    const name = nameOf(project.backbone);
    status(`Loading ${name}…`);
    this.render();
    const started = performance.now();
    const progress = (done, total) => status(`Loading ${name}… restored ${done} of ${total} samples`);
    try {
      try {
        await project.start(this.sessionOptions(project.backbone), progress);
      } catch (error) {
        // A remembered placement may name a backend this browser no longer has: measure again.
        if (error.name !== "BackendUnavailable") throw error;
        localStorage.removeItem(`${PLACEMENT}${project.backbone}`);
        await project.start(this.sessionOptions(project.backbone), progress);
      }
      await this.ready(project, started);
    } catch (error) {
      if (project === this.project) status(`Could not load the model: ${messageOf(error)}. Your samples are kept.`, "error");
    }
    this.render();
  }

  /** Says that `project`'s session, started at `started`, is ready, and where it runs; `note` is
   * added. */
  async ready(project, started, note = "") {
    if (project !== this.project) return;
    const name = nameOf(project.backbone);
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
  }

  /** Backbone picker details: download sizes (from the served weights index) and the speed
   * measured here. */
  async describeBackbones() {
    this.weights ??= await fetch("www/weights/index.json").then((r) => r.json()).catch(() => []);
    const picker = $("backbone");
    for (const { id, optIn } of backbones()) {
      const served = this.weights.some((w) => w.id === id) || this.project?.backbone === id;
      if (optIn && served && ![...picker.options].some((o) => o.value === id)) picker.append(new Option(labelOf(id), id));
    }
    picker.value = this.project?.backbone ?? picker.value;
    for (const option of picker.options) {
      const bytes = this.weights.find((w) => w.id === option.value)?.bytes;
      option.textContent = `${labelOf(option.value)}${bytes ? ` · ${formatBytes(bytes)}` : ""}`;
    }
    const speed = localStorage.getItem(`magpie.speed.${picker.value}`);
    const large = choiceOf(picker.value)?.optIn
      ? "A large download that needs about 1 GB of memory, and slow without a GPU. " : "";
    $("backbone-info").textContent = large + (speed ? `≈ ${speed} ms per frame on this device.` : "");
  }

  /** Reacts to a project change. */
  changed(project, { what, ...detail }) {
    if (project !== this.project) return;
    if (what === "fault") {
      this.restarted = performance.now();
      status(`The engine stopped on an internal error (${detail.message}) and restarts; your samples and model are kept.`, "error");
      return;
    }
    if (what === "session" && this.restarted) {
      const started = this.restarted;
      this.restarted = null;
      if (project.session) this.ready(project, started, "Restarted after an internal error; your samples and model are kept.");
    }
    if (what === "device-lost") {
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
    this.files.render(trained);
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
    const project = await Project.create({ name: `Project ${count + 1}`, backbone: params.get("backbone") ?? undefined, storage: store });
    await project.save();
    await this.show(project);
  }

  /** Opens a stored project (taking it from another tab that has it open when `steal`). */
  async open(id, steal = false) {
    const project = await Project.load(store, id).catch((e) => { status(messageOf(e), "error"); return null; });
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


}

/** Asks the service worker to keep `urls` for offline use. */
async function keepOffline(urls) {
  const registration = await navigator.serviceWorker?.ready;
  registration?.active?.postMessage({ keep: urls });
}

// The engine's JS API on `window.magpie`, for tests and the console.
window.magpie = { ...window.magpie, ...api, client };
await client.current();
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
