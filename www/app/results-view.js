// After training: accuracy per class and a confusion matrix. Clicking a cell lists its
// samples, each of which can be deleted or moved to another class.

import { $, h, messageOf, status } from "./dom.js";

/** The live model's results on the held-out samples, from a training summary: the instant
 * model's when it stayed, else the trained head's. */
export const liveValidation = (summary) => (summary.live === "instant" ? summary.instant?.validation : summary.validation);

/** Wires the results panel. */
export class ResultsView {
  constructor(app) {
    this.app = app;
    this.evaluation = null;
    this.scope = "validation";
    $("results-all").addEventListener("click", () => this.evaluateAll());
  }

  /** Shows the live model's validation results from a training summary (or, without a
   * validation split, every sample's). */
  async show(summary) {
    const validation = liveValidation(summary);
    if (validation?.count) {
      this.evaluation = validation;
      this.scope = `${validation.count} validation samples (held out from training)`;
      this.render();
    } else {
      await this.evaluateAll();
    }
  }

  /** Evaluates the model on every sample. */
  async evaluateAll() {
    try {
      this.evaluation = await this.app.project.evaluate();
      this.scope = `all ${this.evaluation.count} samples (including those trained on)`;
      this.render();
    } catch (error) {
      status(`Evaluation failed: ${messageOf(error)}`, "error");
    }
  }

  /** Hides results (a new project, or classes changed). */
  clear() {
    this.evaluation = null;
    $("results").hidden = true;
  }

  render() {
    const evaluation = this.evaluation;
    const project = this.app.project;
    $("results").hidden = !evaluation;
    if (!evaluation) return;
    const labels = project.session?.info().modelLabels ?? project.classes.map((c) => c.name);
    $("results-scope").textContent = `Accuracy ${(evaluation.accuracy * 100).toFixed(0)} % on ${this.scope}.`;
    $("per-class").replaceChildren(...labels.map((label, i) => {
      const accuracy = evaluation.perClass[i];
      const percent = accuracy == null ? null : Math.round(accuracy * 100);
      return h("li", {},
        h("span", { class: "name" }, label),
        h("span", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
          "aria-valuenow": String(percent ?? 0), "aria-label": `${label} accuracy` },
          h("span", { style: `width: ${percent ?? 0}%` })),
        h("span", { class: "value" }, percent == null ? "no samples" : `${percent} %`));
    }));
    const header = h("tr", {}, h("th", { scope: "col" }, "true ↓ / predicted →"),
      ...labels.map((l) => h("th", { scope: "col" }, l)));
    const rows = evaluation.confusion.map((row, truth) => h("tr", {},
      h("th", { scope: "row" }, labels[truth]),
      ...row.map((n, predicted) => h("td", { class: truth === predicted ? "hit" : n ? "miss" : "" },
        h("button", { type: "button", disabled: n === 0,
          "aria-label": `${n} samples of ${labels[truth]} predicted as ${labels[predicted]}`,
          onclick: () => this.showCell(truth, predicted) }, String(n))))));
    $("confusion").replaceChildren(h("thead", {}, header), h("tbody", {}, ...rows));
    $("cell").replaceChildren();
  }

  /** Lists the samples of a confusion cell, each deletable or movable to another class. */
  showCell(truth, predicted) {
    const project = this.app.project;
    const labels = project.session?.info().modelLabels ?? [];
    const ids = this.evaluation.cells[truth][predicted].filter((id) => project.samples.has(id));
    const item = (id) => {
      const sample = project.samples.get(id);
      const url = URL.createObjectURL(sample.jpeg);
      const move = h("select", { "aria-label": "Move to class", onchange: (e) => {
        project.relabelSample(id, e.target.value);
        li.remove();
      } }, h("option", { value: "" }, "Move to…"),
        ...project.classes.filter((c) => c.id !== sample.classId).map((c) => h("option", { value: c.id }, c.name)));
      const li = h("li", {},
        h("img", { src: url, alt: `Sample ${sample.seq + 1}`, width: "72", height: "72", onload: () => URL.revokeObjectURL(url) }),
        h("button", { type: "button", class: "quiet danger", onclick: () => { project.removeSamples([id]); li.remove(); } }, "Delete"),
        move);
      return li;
    };
    $("cell").replaceChildren(
      h("h4", {}, `${labels[truth]} predicted as ${labels[predicted]} (${ids.length})`),
      h("ul", { class: "cell-samples" }, ...ids.map(item)));
  }
}
