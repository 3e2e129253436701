// The project file: the whole project as one zip (`project.json`, `images/<class>/<id>.jpg`,
// `model.bpk`; see docs/project-format.md), laid out and checked by the engine. Opening one
// validates the archive (in Rust) and decodes every image before anything is kept; archives made
// elsewhere (a Teachable Machine project, one class's samples, class folders) open the same way.

import { api } from "../engine/client.js";
import * as frames from "../engine/frames.js";
import { newId } from "./project.js";
import { clean } from "./settings.js";

/** Largest project file accepted (bytes). */
const MAX_FILE = 2 ** 31;

/** A name safe as a file name. */
export const safeName = async (name) => (await api.classFolders([name]))[0];

/** The project file of `project`, as bytes (laid out by the engine, as a session's
 * `saveProject` is); `name` names it instead of the project's name. */
export async function projectFile(project, { name = project.name } = {}) {
  const classes = [];
  for (const cls of project.classes) {
    const samples = [];
    for (const sample of project.samplesOf(cls.id)) {
      samples.push({ id: sample.id, image: new Uint8Array(await sample.jpeg.arrayBuffer()), type: sample.jpeg.type });
    }
    classes.push({ name: cls.name, samples });
  }
  return api.projectFile({
    name, backbone: project.backbone, settings: project.settings, model: project.model, classes,
  });
}

/** The bytes of a project file given as a `Blob`/`File`, bytes, or a URL (fetched). */
async function bytesOf(file) {
  if (typeof file === "string" || file instanceof URL) {
    const response = await fetch(file);
    if (!response.ok) throw new Error(`cannot fetch ${file} (HTTP ${response.status})`);
    file = await response.blob();
  }
  if (file instanceof Blob) {
    if (file.size > MAX_FILE) throw new Error(`${file.name ?? "the project file"} is larger than 2 GB`);
    return new Uint8Array(await file.arrayBuffer());
  }
  return file instanceof ArrayBuffer ? new Uint8Array(file) : file;
}

/** Reads a project file or another archive the engine opens as one (`Blob`/`File`, bytes or
 * URL) into `{ record, samples, source, skipped }` under a new project id (`source` and
 * `skipped`: see the API's `importArchive`); throws a message naming the first problem, having
 * changed nothing. */
export async function readProjectFile(file) {
  const name = file.name ?? (typeof file === "string" || file instanceof URL ? decodeURIComponent(String(file).split(/[?#]/)[0].split("/").pop()) : "Imported");
  return opened(await api.importArchive(await bytesOf(file), name));
}

/** Reads a picked or dropped folder (`[{ path, file }]`, `/`-separated paths from the folder
 * the user chose, that folder first) as `readProjectFile` reads an archive. */
export async function readProjectFolder(entries) {
  let total = 0;
  const files = new Map();
  for (const { path, file } of entries) {
    total += file.size;
    if (total > MAX_FILE) throw new Error("the folder holds more than 2 GB");
    files.set(path, new Uint8Array(await file.arrayBuffer()));
  }
  const name = entries[0]?.path.split("/")[0] || "Imported";
  return opened(await api.importFiles(files, name));
}

/** The project of what the engine opened, every image decoded before anything is kept. */
async function opened({ manifest, files, source, skipped }) {
  const projectId = newId("p");
  const samples = [];
  const classes = manifest.classes.map((cls) => ({ id: newId("c"), name: cls.name }));
  for (const [i, cls] of manifest.classes.entries()) {
    for (const entry of cls.samples) {
      const type = /\.png$/i.test(entry.file) ? "image/png" : "image/jpeg";
      const jpeg = new Blob([files.get(entry.file)], { type });
      await frames.decode(jpeg, entry.file);
      samples.push({ id: entry.id, projectId, classId: classes[i].id, seq: samples.length, jpeg, embedding: null });
    }
  }
  const model = manifest.model ? files.get(manifest.model) : null;
  const record = {
    id: projectId, name: manifest.name, backbone: manifest.backbone, classes, settings: await clean(manifest.settings),
    model, modelLabels: model ? classes.map((c) => c.name) : null, nextSeq: samples.length,
  };
  return { record, samples, source, skipped };
}
