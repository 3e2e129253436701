// Files: the project as a file (export, import of a project file, a Teachable Machine project,
// class-folder zips, a picked or dropped folder) and the trained model as a file (magpie's
// record, ONNX, a Teachable Machine model).

import { $, formatBytes, messageOf, status, toast } from "./dom.js";
import * as store from "./store.js";
import { projectFile, readProjectFile, readProjectFolder, safeName } from "../core/project-file.js";
import { download } from "../ui/download.js";

/** Wires the project's and the model's file controls. */
export class FilesView {
  constructor(app) {
    this.app = app;
    $("project-export").addEventListener("click", () => this.exportProject());
    $("project-import").addEventListener("change", (e) => {
      const file = e.target.files[0];
      e.target.value = "";
      if (file) this.importProject(file.name, () => readProjectFile(file));
    });
    $("project-import-folder").addEventListener("change", (e) => {
      const files = [...e.target.files];
      e.target.value = "";
      const entries = files.map((file) => ({ path: file.webkitRelativePath, file }));
      if (files.length) this.importProject(entries[0].path.split("/")[0], () => readProjectFolder(entries));
    });
    // A folder or an archive dropped anywhere but on a class (which takes images) opens as a project.
    document.addEventListener("dragover", (e) => { if (!e.target.closest?.(".class-card")) e.preventDefault(); });
    document.addEventListener("drop", (e) => {
      if (e.target.closest?.(".class-card")) return;
      e.preventDefault();
      this.importDropped([...(e.dataTransfer?.items ?? [])].map((item) => item.webkitGetAsEntry?.()).filter(Boolean));
    });
    $("model-export").addEventListener("click", () => {
      const project = this.app.project;
      if (project.model) safeName(project.name).then((name) => download(project.model, `${name}.model.bpk`));
    });
    $("model-export-onnx").addEventListener("click", () => this.exportOnnx());
    $("model-export-tm").addEventListener("click", () => this.exportTeachableMachine());
    $("model-export-tflite").addEventListener("click", () => this.exportTflite("f32"));
    $("model-export-tflite-int8").addEventListener("click", () => this.exportTflite("int8"));
  }

  /** The model's exports need a trained model. */
  render(trained) {
    for (const id of EXPORTS) $(id).disabled = !trained;
  }

  /** "Export project": the whole project (classes, samples, model) as one zip. */
  async exportProject() {
    try {
      await this.app.project.queue;
      download(await projectFile(this.app.project), `${await safeName(this.app.project.name)}.magpie.zip`, "application/zip");
    } catch (error) {
      status(`Export failed: ${messageOf(error)}`, "error");
    }
  }

  /** Imports what `read()` reads (readProjectFile or readProjectFolder) as a new project, named
   * `name` in what the page says. */
  async importProject(name, read) {
    status(`Checking ${name}…`);
    try {
      const { record, samples, source, skipped } = await read();
      await store.saveWholeProject(record, samples);
      await this.app.open(record.id);
      toast(importSummary(name, record, samples.length, source, skipped));
    } catch (error) {
      status(`Import refused, nothing was changed: ${messageOf(error)}`, "error");
    }
  }

  /** Imports a dropped folder (its files by their paths from it) or archive. */
  async importDropped(entries) {
    const [entry] = entries;
    if (!entry) return;
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      return this.importProject(file.name, () => readProjectFile(file));
    }
    this.importProject(entry.name, async () => readProjectFolder(await folderFiles(entry)));
  }

  /** "Export model → ONNX": the trained model and its backbone as one ONNX file. */
  async exportOnnx() {
    try {
      status("Exporting the model as ONNX…");
      const bytes = await this.app.project.session.exportOnnx();
      const name = `${await safeName(this.app.project.name)}.onnx`;
      download(bytes, name);
      status(`Exported ${name} (${formatBytes(bytes.length)}).`);
    } catch (error) {
      status(`Export failed: ${messageOf(error)}`, "error");
    }
  }

  /** "Export model → TF Lite" (`precision` "f32") and "… int8" (full-integer, calibrated on the
   * samples): the model as a zip of `model.tflite` and `labels.txt`. */
  async exportTflite(precision) {
    const what = precision === "int8" ? "TF Lite int8" : "TF Lite";
    try {
      status(`Exporting the model as ${what}…`);
      const progress = (fraction) => status(`Exporting the model as ${what}: calibrating on your samples, ${Math.round(fraction * 100)} %…`);
      const { zip } = await this.app.project.session.exportTflite({ precision }, progress);
      const name = `${await safeName(this.app.project.name)}.${precision === "int8" ? "int8." : ""}tflite.zip`;
      download(zip, name, "application/zip");
      status(`Exported ${name} (${formatBytes(zip.length)}): model.tflite and labels.txt, for LiteRT on a phone, a Raspberry Pi or a microcontroller.`);
    } catch (error) {
      status(`Export failed: ${messageOf(error)}`, "error");
    }
  }

  /** "Export model → Teachable Machine": a head Teachable Machine's format can express, trained
   * on the same samples, with the backbone, as the zip Teachable Machine writes. */
  async exportTeachableMachine() {
    try {
      status("Training Teachable Machine's head on your samples and exporting it…");
      const name = await safeName(this.app.project.name);
      const { zip, validation } = await this.app.project.session.exportTeachableMachine({ name });
      download(zip, `${name}.tm-model.zip`, "application/zip");
      const accuracy = validation ? `, ${(validation.accuracy * 100).toFixed(0)} % on the held-out samples` : "";
      status(`Exported ${name}.tm-model.zip (${formatBytes(zip.length)}${accuracy}): load it with Teachable Machine's library or ml5.`);
    } catch (error) {
      status(`Export failed: ${messageOf(error)}`, "error");
    }
  }
}

/** The buttons of the model's exports. */
const EXPORTS = ["model-export", "model-export-onnx", "model-export-tm", "model-export-tflite", "model-export-tflite-int8"];

/** Every file under a dropped folder `entry`: `[{ path, file }]`, paths from the folder itself. */
async function folderFiles(entry, path = entry.name) {
  if (entry.isFile) return [{ path, file: await new Promise((resolve, reject) => entry.file(resolve, reject)) }];
  const reader = entry.createReader();
  const children = [];
  // readEntries answers in batches until it answers none.
  for (let batch = await new Promise((r, j) => reader.readEntries(r, j)); batch.length; batch = await new Promise((r, j) => reader.readEntries(r, j))) {
    children.push(...batch);
  }
  const nested = await Promise.all(children.map((child) => folderFiles(child, `${path}/${child.name}`)));
  return nested.flat();
}

/** What an archive was, in words (the engine's `importArchive` `source`). */
const SOURCES = {
  magpie: "a magpie project", teachableMachine: "a Teachable Machine project",
  samples: "one class's samples", classFolders: "one folder of images per class",
};

/** What an import brought in, and what it passed over. */
function importSummary(name, record, count, source, skipped) {
  const passed = [
    skipped.notImages && `${skipped.notImages} file(s) that are not images`,
    skipped.otherFormats && `${skipped.otherFormats} image(s) neither JPEG nor PNG`,
    skipped.debris && `${skipped.debris} hidden or macOS file(s)`,
  ].filter(Boolean);
  return `Opened ${name} (${SOURCES[source] ?? source}): ${record.classes.length} classes, ${count} samples.` +
    (passed.length ? ` Skipped ${passed.join(", ")}.` : "");
}
