// The engine: the JS API module that wasm-bindgen generates (../../magpie.js). A Rust panic
// leaves a wasm instance unusable (its pending promises never settle), so after a fault the
// page loads a fresh instance of the same module and rebuilds its sessions from the work it
// keeps in JS and IndexedDB; `guard` makes the old instance's pending calls fail instead of
// hanging.

const faults = new EventTarget();
let api = null;
let instance = 0;
/** Rejects when the current instance faults. */
let failed = new Promise(() => {});

/** Loads a fresh instance of the engine and makes it current; resolves to its API. */
export async function load() {
  instance += 1;
  const mine = instance;
  // A new module URL gives a new module record, hence a new wasm instance.
  const module = await import(mine === 1 ? "../../magpie.js" : `../../magpie.js?instance=${mine}`);
  await module.default();
  let fail;
  failed = new Promise((_, reject) => { fail = reject; });
  failed.catch(() => {});
  module.onFault((message) => {
    if (mine !== instance) return;
    fail(new Error(`the engine stopped on an internal error: ${message}`));
    faults.dispatchEvent(new CustomEvent("fault", { detail: { message } }));
  });
  api = module;
  return module;
}

/** The current instance's API. */
export const engine = () => api;

/** `promise`, or a rejection if the current instance faults first. */
export const guard = (promise) => Promise.race([promise, failed]);

/** Calls `listener(message)` when the current instance faults. */
export function onFault(listener) {
  faults.addEventListener("fault", (e) => listener(e.detail.message));
}

/** Whether `error` says the GPU device was lost: every later GPU call fails too. */
export const deviceLost = (error) => /the GPU device was lost/.test(error?.message ?? "");
