// The class list: one card per class with inline rename, reorder, clear, delete (with undo),
// sample count, thumbnails (each deletable), hold-to-record, timed recording, and upload or
// drag-and-drop of image files.

import { $, h, messageOf, status, toast } from "./dom.js";
import { holdToRecord } from "../ui/hold.js";
import { catalogue } from "../core/settings.js";

/** Thumbnails shown per class (the newest). */
const THUMBS = 48;

/** Renders the classes of the current project into `#class-list`. */
export class ClassesView {
  constructor(app) {
    this.app = app;
    this.cards = new Map();
    this.urls = new Map();
    $("class-add").addEventListener("click", () => this.guard(() => {
      const cls = this.app.project.addClass();
      this.cards.get(cls.id)?.name.focus();
    }));
  }

  /** Runs `work`, reporting an error in the status line. */
  guard(work) {
    try {
      return work();
    } catch (error) {
      status(messageOf(error), "error");
    }
  }

  /** Updates the cards to the project's state. */
  render() {
    const project = this.app.project;
    const list = $("class-list");
    const live = new Set(project.classes.map((c) => c.id));
    for (const [id, card] of this.cards) {
      if (!live.has(id)) { card.root.remove(); this.cards.delete(id); }
    }
    project.classes.forEach((cls, index) => {
      let card = this.cards.get(cls.id);
      if (!card) { card = this.card(cls.id); this.cards.set(cls.id, card); }
      if (list.children[index] !== card.root) list.insertBefore(card.root, list.children[index] ?? null);
      this.update(card, cls, index);
    });
    // Object URLs of deleted samples are released.
    for (const [id, url] of this.urls) {
      if (!project.samples.has(id)) { URL.revokeObjectURL(url); this.urls.delete(id); }
    }
    $("class-add").disabled = project.classes.length >= catalogue().limits.classes.max;
  }

  /** A card's elements for class `classId`. */
  card(classId) {
    const project = () => this.app.project;
    const name = h("input", { class: "class-name", type: "text", maxlength: "100", "aria-label": "Class name" });
    const commit = () => this.guard(() => {
      try {
        project().renameClass(classId, name.value);
      } catch (error) {
        name.value = project().classes[project().indexOf(classId)]?.name ?? "";
        throw error;
      }
    });
    name.addEventListener("change", commit);
    name.addEventListener("keydown", (e) => {
      if (e.key === "Enter") name.blur();
      if (e.key === "Escape") { name.value = project().classes[project().indexOf(classId)].name; name.blur(); }
    });
    const count = h("span", { class: "count", "aria-live": "polite" });
    const up = h("button", { type: "button", class: "icon", "aria-label": "Move class up", title: "Move up",
      onclick: () => project().moveClass(classId, -1) }, "↑");
    const down = h("button", { type: "button", class: "icon", "aria-label": "Move class down", title: "Move down",
      onclick: () => project().moveClass(classId, 1) }, "↓");
    const clear = h("button", { type: "button", class: "quiet", onclick: () => {
      const label = name.value;
      const undo = project().clearClass(classId);
      toast(`Cleared “${label}”.`, { label: "Undo", run: undo });
    } }, "Clear");
    const remove = h("button", { type: "button", class: "quiet danger", onclick: () => {
      if (project().classes.length <= 1) return status("A project keeps at least one class.", "error");
      const label = name.value;
      const undo = project().removeClass(classId);
      toast(`Deleted class “${label}”.`, { label: "Undo", run: undo });
    } }, "Delete");
    const record = h("button", { type: "button", class: "record", "aria-label": "Hold to record samples" }, "Hold to record");
    holdToRecord(record, () => this.app.recorder.start(classId), () => {
      if (this.app.recorder.classId === classId) this.app.recorder.stop();
    });
    const timed = h("button", { type: "button", onclick: () => this.timed(classId, timed) }, "Timed");
    const upload = h("input", { type: "file", accept: "image/*", multiple: true, class: "visually-hidden",
      onchange: (e) => { this.upload(classId, [...e.target.files]); e.target.value = ""; } });
    const uploadLabel = h("label", { class: "button" }, "Upload", upload);
    const thumbs = h("ul", { class: "thumbs", "aria-label": "Samples" });
    const more = h("p", { class: "more" });
    const root = h("article", { class: "class-card", dataset: { classId } },
      h("header", {}, name, count, h("span", { class: "spacer" }), up, down, clear, remove),
      h("div", { class: "capture" }, record, timed, uploadLabel),
      thumbs, more);
    root.addEventListener("dragover", (e) => { e.preventDefault(); root.classList.add("drop"); });
    root.addEventListener("dragleave", () => root.classList.remove("drop"));
    root.addEventListener("drop", (e) => {
      e.preventDefault();
      root.classList.remove("drop");
      this.upload(classId, [...(e.dataTransfer?.files ?? [])]);
    });
    return { root, name, count, up, down, record, thumbs, more, shown: [] };
  }

  /** Brings a card up to date. */
  update(card, cls, index) {
    const project = this.app.project;
    if (document.activeElement !== card.name) card.name.value = cls.name;
    const samples = project.samplesOf(cls.id);
    card.count.textContent = `${samples.length} sample${samples.length === 1 ? "" : "s"}`;
    card.up.disabled = index === 0;
    card.down.disabled = index === project.classes.length - 1;
    const recording = this.app.recorder.classId === cls.id;
    card.record.classList.toggle("active", recording);
    card.record.textContent = recording ? "Recording…" : "Hold to record";
    // The accessible name keeps what is shown (WCAG's label in name) and the button's name.
    card.record.setAttribute("aria-label", recording ? "Recording… (Hold to record samples)" : "Hold to record samples");
    const shown = samples.slice(-THUMBS);
    const ids = shown.map((s) => s.id);
    if (ids.join() !== card.shown.join()) {
      card.thumbs.replaceChildren(...shown.map((s) => this.thumb(s)));
      card.shown = ids;
    }
    card.more.textContent = samples.length > THUMBS ? `+ ${samples.length - THUMBS} older samples` : "";
  }

  /** A deletable thumbnail of a sample. */
  thumb(sample) {
    return h("li", {},
      h("img", { src: this.url(sample), alt: `Sample ${sample.seq + 1}`, loading: "lazy", width: "56", height: "56" }),
      h("button", { type: "button", class: "remove", "aria-label": `Delete sample ${sample.seq + 1}`,
        onclick: () => this.app.project.removeSamples([sample.id]) }, "×"));
  }

  /** An object URL of a sample's JPEG (kept while the sample exists). */
  url(sample) {
    let url = this.urls.get(sample.id);
    if (!url) { url = URL.createObjectURL(sample.jpeg); this.urls.set(sample.id, url); }
    return url;
  }

  /** Timed recording into a class, with the countdown on its button. */
  async timed(classId, button) {
    const { delay, duration } = this.app.captureSettings();
    button.disabled = true;
    try {
      await this.app.recorder.timed(classId, delay, duration, (left) => {
        button.textContent = left > 0 ? `Starts in ${left}…` : "Recording…";
      });
    } finally {
      button.disabled = false;
      button.textContent = "Timed";
    }
  }

  /** Adds image files to a class; files that cannot be decoded are reported and skipped. */
  async upload(classId, files) {
    const failed = await this.app.project.addFiles(classId, files);
    if (failed.length) status(`Skipped ${failed.length} file(s): ${failed.join("; ")}`, "error");
  }
}
