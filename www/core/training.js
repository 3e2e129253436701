// Training a project, for the page and <magpie-trainer>: one training at a time, the instant
// model live first, and trained again at once when samples or classes changed while it ran, so
// the model that stays knows the current classes. Events (`detail` in brackets): `start`,
// `epoch` ({ report, epochs }), `live` ({ report, seconds }: a model went live), `done`
// ({ summary, options, seconds, again }: `again` when it trains again at once), `again`, `failed`
// ({ error }), `end` (no training runs any more).

import { trainOptions } from "./settings.js";

/** Trains the project it is given. */
export class Training extends EventTarget {
  constructor(project = null) {
    super();
    /** The project trained (the page switches it). */
    this.project = project;
    this.running = false;
  }

  /** Trains the project until its model is current; a call while it runs gets the running one.
   * Resolves to the last summary, or null when that training failed. */
  train() {
    if (!this.running) this.run = this.trainUntilCurrent();
    return this.run;
  }

  /** Trains the project again and again until no sample or class changed during a training. */
  async trainUntilCurrent() {
    const project = this.project;
    this.running = true;
    let summary = null;
    try {
      let again;
      do {
        const outcome = await this.once(project);
        summary = outcome?.summary ?? null;
        // Anything changed after the training took the samples is trained on at once.
        again = !!summary && summary.stop !== "cancelled" && project.revision !== project.trainedRevision && project === this.project;
        if (outcome) this.emit("done", { ...outcome, again });
        if (again) this.emit("again");
      } while (again);
    } finally {
      this.running = false;
      this.emit("end");
    }
    return summary;
  }

  /** Stops the training at its next batch (the model live now stays). */
  cancel() {
    this.project?.cancelTraining();
  }

  /** One training of `project`; resolves to `{ summary, options, seconds }`, or null when it
   * failed. */
  async once(project) {
    this.emit("start");
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const options = await trainOptions(project.settings);
      const summary = await project.train(options,
        (report) => this.emit("epoch", { report, epochs: options.epochs }),
        (report) => this.emit("live", { report, seconds: seconds() }));
      return { summary, options, seconds: seconds() };
    } catch (error) {
      this.emit("failed", { error });
      return null;
    }
  }

  /** Fires `type` with `detail`. */
  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
