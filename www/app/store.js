// IndexedDB persistence: projects (classes, settings, trained model) and their samples (JPEG,
// cached embedding). Every write is its own transaction, so a reload at any moment keeps what
// was written before it. When IndexedDB is missing or full, writes fail with a clear error and
// the caller keeps working in memory.

const DB = "magpie";
const VERSION = 1;

let opened = null;

/** The database, opened once. */
function db() {
  opened ??= new Promise((resolve, reject) => {
    if (!globalThis.indexedDB) return reject(new Error("this browser keeps no data for this page (private mode?)"));
    const request = indexedDB.open(DB, VERSION);
    request.onupgradeneeded = () => {
      const database = request.result;
      database.createObjectStore("projects", { keyPath: "id" });
      const samples = database.createObjectStore("samples", { keyPath: ["projectId", "id"] });
      samples.createIndex("project", "projectId");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`cannot open the project store: ${request.error?.message}`));
  });
  return opened;
}

/** Runs `work(stores)` in one transaction over `names`; resolves when it commits. */
async function transaction(names, mode, work) {
  const database = await db();
  return new Promise((resolve, reject) => {
    const tx = database.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
    let result;
    const fail = (error) => reject(quotaAware(error));
    // A request that throws (a full disk can make `put` throw) undoes the whole transaction.
    const undo = (error) => {
      try { tx.abort(); } catch { /* already finished */ }
      fail(error);
    };
    try {
      Promise.resolve(work(stores)).then((value) => { result = value; }, undo);
    } catch (error) {
      return undo(error);
    }
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => fail(tx.error);
    tx.onabort = () => fail(tx.error);
  });
}

/** Names quota errors so the page can tell the user what happened. */
function quotaAware(error) {
  if (error?.name === "QuotaExceededError") return new Error("browser storage is full");
  return new Error(`saving failed (${error?.message ?? error ?? "the write was cancelled"})`);
}

/** A request's result as a promise. */
const done = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

/** Every project record (without samples), most recently changed first. */
export async function listProjects() {
  const all = await transaction(["projects"], "readonly", (s) => done(s.projects.getAll()));
  return all.sort((a, b) => b.updated - a.updated);
}

/** A project record and its sample records (in capture order). */
export async function loadProject(id) {
  return transaction(["projects", "samples"], "readonly", async (s) => {
    const project = await done(s.projects.get(id));
    const samples = await done(s.samples.index("project").getAll(id));
    return project ? { project, samples: samples.sort((a, b) => a.seq - b.seq) } : null;
  });
}

/** Writes a project record. */
export function saveProject(project) {
  return transaction(["projects"], "readwrite", (s) => { s.projects.put({ ...project, updated: Date.now() }); });
}

/** Writes sample records. */
export function saveSamples(samples) {
  return transaction(["samples"], "readwrite", (s) => { for (const sample of samples) s.samples.put(sample); });
}

/** Deletes sample records of project `projectId` by id. */
export function deleteSamples(projectId, ids) {
  return transaction(["samples"], "readwrite", (s) => { for (const id of ids) s.samples.delete([projectId, id]); });
}

/** Writes a whole project (record and samples) in one transaction: all of it lands, or none. */
export function saveWholeProject(project, samples) {
  return transaction(["projects", "samples"], "readwrite", (s) => {
    s.projects.put({ ...project, updated: Date.now() });
    for (const sample of samples) s.samples.put(sample);
  });
}

/** Deletes a project and its samples. */
export function deleteProject(id) {
  return transaction(["projects", "samples"], "readwrite", async (s) => {
    const keys = await done(s.samples.index("project").getAllKeys(id));
    for (const key of keys) s.samples.delete(key);
    s.projects.delete(id);
  });
}

/** Bytes this site stores, and the browser's quota for it (when the browser says). */
export async function usage() {
  const estimate = await navigator.storage?.estimate?.().catch(() => null);
  return { used: estimate?.usage ?? 0, quota: estimate?.quota ?? 0 };
}
