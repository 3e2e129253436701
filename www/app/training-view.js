// The Train panel: one button, progress and a live chart per epoch, cancel, and the advanced
// settings (head, features, epochs, batch size, learning rate, hidden units, k, augmentation views,
// fine-tune depth) with defaults and reset.

import { $, messageOf, status } from "./dom.js";
import { drawChart } from "./chart.js";
import { liveValidation } from "./results-view.js";
import { catalogue } from "../core/settings.js";

/** Settings chosen from a list; the others are numbers. */
const CHOICES = ["head", "features"];
const FIELDS = ["head", "features", "epochs", "batchSize", "learningRate", "hidden", "k", "views", "finetuneBlocks"];

/** Wires the Train panel. */
export class TrainingView {
  constructor(app) {
    this.app = app;
    this.history = [];
    $("train").addEventListener("click", () => this.train());
    $("train-cancel").addEventListener("click", () => this.app.trainer.cancel());
    this.follow(app.trainer);
    $("settings-reset").addEventListener("click", () => {
      this.app.project.setSettings(catalogue().defaults).then(() => this.showSettings());
    });
    const { limits } = catalogue();
    for (const field of FIELDS) {
      if (limits[field]) Object.assign($(`setting-${field}`), limits[field]);
      $(`setting-${field}`).addEventListener("change", () => {
        this.app.project.setSettings(this.readSettings()).then(() => this.showSettings());
      });
    }
    new ResizeObserver(() => drawChart($("chart"), this.history, this.epochs ?? 1)).observe($("chart"));
  }

  /** The form's values. */
  readSettings() {
    return Object.fromEntries(FIELDS.map((f) => [f, CHOICES.includes(f) ? $(`setting-${f}`).value : Number($(`setting-${f}`).value)]));
  }

  /** Shows the project's settings in the form. */
  showSettings() {
    const settings = this.app.project.settings;
    for (const field of FIELDS) $(`setting-${field}`).value = String(settings[field]);
    const knn = settings.head === "knn";
    for (const field of ["epochs", "batchSize", "learningRate", "hidden", "finetuneBlocks"]) $(`setting-${field}`).disabled = knn;
    $("setting-k").disabled = !knn;
    // Fine-tuned blocks end in the pooled embedding.
    $("setting-features").disabled = !knn && settings.finetuneBlocks > 0;
  }

  /** Enables the button when there is something to train. */
  render() {
    const project = this.app.project;
    const counts = project.classes.map((c) => project.samplesOf(c.id).length);
    const ready = project.session && counts.length >= 2 && counts.every((n) => n > 0);
    $("train").disabled = !ready || this.app.trainer.running;
    $("train-hint").textContent = !project.session ? "Loading the model…"
      : counts.length < 2 ? "Add a second class."
      : counts.some((n) => n === 0) ? "Every class needs at least one sample."
      : project.pending ? `Preparing ${project.pending} sample(s)…`
      : project.modelStale ? "Classes changed since training: train again."
      : project.model ? "Trained. Train again after adding samples." : "Ready to train.";
  }

  /** Starts training the project (core/training.js; a start while one runs is ignored), charting
   * each epoch: the view follows its events. */
  train() {
    this.app.trainer.train();
  }

  /** Shows the trainer's progress: the chart per epoch, the instant model, the results. */
  follow(trainer) {
    const percent = (evaluation) => (evaluation ? `, validation accuracy ${(evaluation.accuracy * 100).toFixed(0)} %` : "");
    trainer.addEventListener("start", () => {
      // Said at once, before the engine is asked anything: the last training's end stays off screen.
      this.history = [];
      $("train-cancel").hidden = false;
      $("train-progress").hidden = false;
      $("train-progress").value = 0;
      this.render();
      status(this.app.project.pending ? "Preparing samples, then training…" : "Training…");
    });
    trainer.addEventListener("epoch", ({ detail: { report, epochs } }) => {
      this.epochs = epochs;
      this.history.push(report);
      $("train-progress").value = report.epoch / epochs;
      drawChart($("chart"), this.history, epochs);
    });
    trainer.addEventListener("live", ({ detail: { report, seconds } }) => {
      if (report.instant) status(`Instant model live after ${seconds.toFixed(1)} s${percent(report.validation)}; training a better one…`);
    });
    trainer.addEventListener("done", async ({ detail: { summary, options, seconds, again } }) => {
      const how = { completed: "done", earlyStopped: "stopped early (validation loss stopped improving)", cancelled: "cancelled" }[summary.stop];
      const validation = percent(liveValidation(summary));
      // Which model is live, said every time: the trained head, or the instant model it did
      // worse than (or a cancel left).
      const kept = summary.live === "head" ? " The trained model is live."
        : summary.stop === "cancelled" ? " The instant model stays live."
        : " The instant model stays live: the trained head did worse on the held-out samples.";
      const asked = options.augment?.views ?? summary.views;
      const views = summary.views < asked ? ` With this many samples each keeps ${summary.views} of the ${asked} augmented views asked for: views help with a few samples a class, not with many.` : "";
      $("train-progress").value = 1;
      // The results first, so that "done" is said with them on screen.
      await this.app.showResults(summary);
      // Training again at once ("again" says so): that one's end is what is said.
      if (!again) status(`Training ${how} in ${seconds.toFixed(1)} s${validation}.${kept}${views}`);
    });
    trainer.addEventListener("again", () => status("Samples or classes changed during training: training again with them…"));
    trainer.addEventListener("failed", ({ detail: { error } }) => status(`Training failed: ${messageOf(error)}`, "error"));
    trainer.addEventListener("end", () => {
      $("train-cancel").hidden = true;
      this.render();
    });
  }
}
