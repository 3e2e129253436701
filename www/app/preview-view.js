// Preview: live prediction from the camera (or an uploaded test image) with a confidence bar
// per class, the top class highlighted, and a stats line (frames per second, milliseconds in
// the backbone and in the head).

import { $, messageOf, status } from "./dom.js";
import * as frames from "../engine/frames.js";
import { barRows } from "../widget/bars.js";

/** Milliseconds between live predictions while a head trains (about 4 a second). */
const TRAINING_FRAME_GAP_MS = 250;

/** Wires the preview panel. */
export class PreviewView {
  constructor(app) {
    this.app = app;
    this.running = false;
    this.last = null;
    $("preview-file").addEventListener("change", async (e) => {
      const file = e.target.files[0];
      e.target.value = "";
      if (file) await this.predictFile(file);
    });
    app.camera.addEventListener("state", () => this.loop());
  }

  /** Predicts from the camera while it is on and a model exists. */
  async loop() {
    if (this.running) return;
    this.running = true;
    let frames_ = 0;
    let since = performance.now();
    try {
      while (this.app.camera.on) {
        const project = this.app.project;
        const image = project.session?.info().trained && !this.app.recorder.recording ? this.app.camera.frame() : null;
        if (image) {
          const started = performance.now();
          try {
            const prediction = await project.predict(image);
            frames_ += 1;
            const now = performance.now();
            this.show(prediction, now - started, (frames_ * 1000) / (now - since));
            if (now - since > 3000) { frames_ = 0; since = now; }
          } catch (error) {
            status(`Prediction failed: ${messageOf(error)}`, "error");
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        await new Promise((r) => requestAnimationFrame(r));
        // While a head trains beside it in the engine, fewer frames leave it more time.
        if (project.training) await new Promise((r) => setTimeout(r, TRAINING_FRAME_GAP_MS));
      }
    } finally {
      this.running = false;
    }
  }

  /** Predicts an uploaded test image. */
  async predictFile(file) {
    try {
      const image = await frames.decode(file, file.name);
      const still = $("preview-still");
      still.width = image.width;
      still.height = image.height;
      still.getContext("2d").putImageData(image, 0, 0);
      still.hidden = false;
      const started = performance.now();
      const prediction = await this.app.project.predict(image);
      this.show(prediction, performance.now() - started, null);
      $("stats").dataset.source = file.name;
    } catch (error) {
      status(`Could not classify ${file.name}: ${messageOf(error)}`, "error");
    }
  }

  /** Shows scores in class order with the top class highlighted, and the stats line. */
  show(prediction, totalMs, fps) {
    this.last = prediction;
    const top = prediction.scores[0];
    // The same bars as the widgets' (widget/bars.js).
    $("scores").replaceChildren(...barRows(prediction.scores));
    $("prediction").textContent = top ? `${top.label} (${Math.round(top.probability * 100)} %)` : "";
    $("stats").textContent = [
      fps === null ? null : `${fps.toFixed(1)} fps`,
      `${totalMs.toFixed(0)} ms per frame`,
      `backbone ${prediction.backboneMs.toFixed(0)} ms`,
      `head ${prediction.headMs.toFixed(1)} ms`,
    ].filter(Boolean).join(" · ");
    $("stats").dataset.source = fps === null ? "" : "camera";
  }

  /** Clears the scores (no model). */
  clear() {
    $("scores").replaceChildren();
    $("prediction").textContent = "";
    $("stats").textContent = "";
  }
}
