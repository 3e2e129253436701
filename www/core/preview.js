// Live prediction from the camera, for the page and <magpie-trainer>: while the camera is on and
// the project has a model (and nothing is being recorded), each frame is predicted with its rows
// kept, so that a wrong or unsure prediction is corrected at once: the frame shown goes to the
// class the user picks, with no backbone pass, and the model trains again. Events: `prediction`
// (`detail`: { prediction, image, ms, fps }: fps is null for a still image), `failed` ({ error }).

import { faulted } from "../engine/client.js";

/** Milliseconds between live predictions while a head trains (about 4 a second). */
const TRAINING_FRAME_GAP_MS = 250;
/** Milliseconds to wait after a prediction failed before the next. */
const FAILED_GAP_MS = 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nextFrame = () => new Promise((r) => requestAnimationFrame(r));

/** Predicts a camera's frames with a project's model. */
export class Preview extends EventTarget {
  /** `camera`: core/camera.js's; `recorder` and `training`: this host's (no prediction while
   * recording; fewer while training; a correction trains again). */
  constructor(camera, recorder, training) {
    super();
    this.camera = camera;
    this.recorder = recorder;
    this.training = training;
    /** The project predicted with (the page switches it). */
    this.project = null;
    /** The frame whose prediction was shown last, with its rows: `{ image, embedding }`. */
    this.shown = null;
    this.running = false;
    camera.addEventListener("state", () => this.run());
  }

  /** Predicts from the camera while it is on; returns at once if that runs already. */
  async run() {
    if (this.running) return;
    this.running = true;
    let count = 0;
    let since = performance.now();
    try {
      while (this.camera.on) {
        const project = this.project;
        const image = project?.session?.info().trained && !this.recorder.recording ? this.camera.frame() : null;
        if (image) {
          try {
            const started = performance.now();
            const prediction = await project.predict(image, { embedding: true });
            count += 1;
            const now = performance.now();
            this.shown = { image, embedding: prediction.embedding };
            this.emit("prediction", { prediction, image, ms: now - started, fps: (count * 1000) / (now - since) });
            if (now - since > 3000) { count = 0; since = now; }
          } catch (error) {
            // After an engine fault the project rebuilds its session: go on once it has.
            if (!faulted(error)) this.emit("failed", { error });
            await sleep(FAILED_GAP_MS);
          }
        }
        await nextFrame();
        // While a head trains beside it in the engine, fewer frames leave it more time.
        if (project?.training) await sleep(TRAINING_FRAME_GAP_MS);
      }
    } finally {
      this.running = false;
    }
  }

  /** Predicts a still image (an `ImageData` square); it becomes the frame shown. */
  async still(image) {
    const started = performance.now();
    const prediction = await this.project.predict(image, { embedding: true });
    this.shown = { image, embedding: prediction.embedding };
    this.emit("prediction", { prediction, image, ms: performance.now() - started, fps: null });
    return prediction;
  }

  /** Adds the frame shown to class `classId` (its rows reused: no backbone pass) and trains
   * again; resolves to the class, or null when no frame is shown. */
  async correct(classId) {
    const shown = this.shown;
    const project = this.project;
    const cls = project.classes.find((c) => c.id === classId);
    if (!shown || !cls) return null;
    await project.addCapture(cls.id, shown.image, shown.embedding ?? null);
    this.training.train();
    return cls;
  }

  /** Forgets the frame shown (another project, or no model). */
  clear() {
    this.shown = null;
  }

  /** Fires `type` with `detail`. */
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
