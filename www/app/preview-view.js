// Preview: live prediction from the camera (or an uploaded test image; core/preview.js) with a
// confidence bar per class, the top class highlighted (or "not sure" below the model's
// threshold), and a stats line (frames per second, milliseconds in the backbone and in the
// head). A wrong or unsure prediction is corrected from here: the frame shown goes to a class the
// user picks (its rows reused, no backbone pass) and the model trains again.

import { $, h, messageOf, status } from "./dom.js";
import * as frames from "../engine/frames.js";
import { barRows, verdict } from "../ui/bars.js";

/** Wires the preview panel. */
export class PreviewView {
  constructor(app) {
    this.app = app;
    const previewer = app.previewer;
    previewer.addEventListener("prediction", ({ detail: { prediction, ms, fps } }) => this.show(prediction, ms, fps));
    previewer.addEventListener("failed", ({ detail: { error } }) => status(`Prediction failed: ${messageOf(error)}`, "error"));
    $("preview-file").addEventListener("change", async (e) => {
      const file = e.target.files[0];
      e.target.value = "";
      if (file) await this.predictFile(file);
    });
    $("correct").addEventListener("click", () => this.correct());
    // C, anywhere but in a field, adds the frame shown (the button's aria-keyshortcuts).
    document.addEventListener("keydown", (e) => {
      const typing = e.target.closest?.("input, select, textarea, [contenteditable]");
      if (e.key.toLowerCase() !== "c" || e.repeat || typing || e.ctrlKey || e.metaKey || e.altKey) return;
      if ($("correct-row").hidden) return;
      e.preventDefault();
      this.correct();
    });
    $("threshold").addEventListener("change", async (e) => {
      const percent = Number(e.target.value);
      try {
        if (!(percent >= 0 && percent <= 100)) throw new Error("the threshold is a percentage, 0 to 100");
        await this.app.project.setThreshold(percent / 100);
        status(percent ? `The model says “not sure” below ${percent} %.` : "The model always names a class.");
      } catch (error) {
        status(`Could not set the threshold: ${messageOf(error)}`, "error");
        this.render();
      }
    });
  }

  /** Shows the classes a frame can be added to, and the model's threshold. */
  render() {
    const project = this.app.project;
    const select = $("correct-class");
    const chosen = select.value;
    select.replaceChildren(...project.classes.map((c) => h("option", { value: c.id, selected: c.id === chosen }, c.name)));
    $("correct-row").hidden = !this.app.previewer.shown;
    const threshold = project.threshold;
    $("threshold-row").hidden = threshold === null;
    if (threshold !== null && document.activeElement !== $("threshold")) $("threshold").value = String(Math.round(threshold * 100));
  }

  /** Adds the frame shown to the class picked, reusing its rows, and trains again. */
  async correct() {
    const cls = this.app.project.classes.find((c) => c.id === $("correct-class").value);
    if (!this.app.previewer.shown || !cls) return;
    try {
      status(`Added the frame to “${cls.name}”; training again…`);
      await this.app.previewer.correct(cls.id);
    } catch (error) {
      status(`Could not add the frame: ${messageOf(error)}`, "error");
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
      await this.app.previewer.still(image);
      $("stats").dataset.source = file.name;
    } catch (error) {
      status(`Could not classify ${file.name}: ${messageOf(error)}`, "error");
    }
  }

  /** Shows scores in class order with the top class highlighted (none when the model is not
   * sure), and the stats line. */
  show(prediction, totalMs, fps) {
    const first = $("correct-row").hidden;
    // The same bars as the widgets' (ui/bars.js).
    $("scores").replaceChildren(...barRows(prediction.scores, prediction.unsure));
    $("prediction").textContent = verdict(prediction);
    $("prediction").classList.toggle("unsure", prediction.unsure);
    $("stats").textContent = [
      fps === null ? null : `${fps.toFixed(1)} fps`,
      `${totalMs.toFixed(0)} ms per frame`,
      `backbone ${prediction.backboneMs.toFixed(0)} ms`,
      `head ${prediction.headMs.toFixed(1)} ms`,
    ].filter(Boolean).join(" · ");
    $("stats").dataset.source = fps === null ? "" : "camera";
    if (first) this.render();
  }

  /** Clears the scores (no model). */
  clear() {
    $("scores").replaceChildren();
    $("prediction").textContent = "";
    $("stats").textContent = "";
    this.app.previewer.clear();
    this.render();
  }
}
