// The engine's object methods, once, for both sides of the worker (host.js and remote.js): what
// each does to its object. Adding a method to the wasm API means adding it here, nothing else:
// the client's objects get a method of that name from this table.
//
// - "read": leaves the object's `info()` as it was, so the host sends no fresh copy (live
//   prediction calls these every frame);
// - "edit": changes the classes or samples; the client keeps it, to replay it, in order, when the
//   object is rebuilt on a fresh engine after a fault;
// - "update": changes what `info()` reports; the client keeps its outcome another way (the
//   trained model's bytes, a sample with its rows) or needs nothing kept.

/** Method name → "read" | "edit" | "update". */
export const METHODS = Object.freeze({
  // FewShotSession: classes and samples.
  addClass: "edit",
  renameClass: "edit",
  removeClass: "edit",
  moveClass: "edit",
  clearClass: "edit",
  removeSample: "edit",
  relabelSample: "edit",
  addSample: "update",
  sampleEmbedding: "read",
  // FewShotSession: augmented views, computed while idle (alone or in the embedding pool).
  embedViews: "update",
  viewsWork: "read",
  embedSampleViews: "read",
  putViews: "update",
  // FewShotSession: the model.
  train: "update",
  cancel: "update",
  load: "update",
  setThreshold: "update",
  predict: "read",
  evaluate: "read",
  save: "read",
  exportOnnx: "read",
  exportTeachableMachine: "read",
  exportTflite: "read",
  saveProject: "read",
  loadProject: "update",
  // ImageNetModel.
  classify: "read",
  features: "read",
  featuresBatch: "read",
  // Both.
  info: "read",
});

/** Whether `method` leaves its object's `info()` as it was. */
export const reads = (method) => METHODS[method] === "read";

/** Whether a call of `method` is replayed when its object is rebuilt. */
export const replayed = (method) => METHODS[method] === "edit";
