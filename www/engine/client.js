// The engine's one JS client, used by the page and both widgets. The wasm module runs in a
// dedicated module worker (worker.js), so no backbone pass ever blocks the page; where no worker
// can be started (the package hosted on another origin, whose scripts may not start workers for
// this page, or a Content-Security-Policy that forbids workers) the same host code runs on the
// page instead. Where the worker, the wasm and the weights are: assets.js. Calls are async and
// mirror the wasm API (`FewShotSession`, `ImageNetModel` and the module functions); frames cross
// as ImageData, ImageBitmap or Blob, never as DOM elements.
//
// Faults, once for everyone: when the engine panics, its worker errors out, ends without a word
// (it closed itself or was killed: the lock it held is released) or answers a GPU device loss
// with a panic, the worker is terminated; each pending call rejects once, one
// `fault` event fires, and the next call starts a fresh engine. Every session is rebuilt there,
// on its next call, from what the client keeps of it (its options, its classes and examples as
// JPEGs with their embeddings, its trained model), so no sample, embedding or model is lost. An
// engine that never started (a file that did not load) is no fault: its calls reject with what
// failed and what to do, and the next call tries again.

import { ASSETS_HINT, configure, pageEngine, startWorker, workerSource } from "./assets.js";
import { Remote } from "./remote.js";

export { configure };

let engines = 0;

/** What a call rejects with when its engine faulted (`faulted` tells it apart). */
class EngineFault extends Error {
  name = "EngineFault";
}

/** The dedicated worker, or null where the page may not start one. */
function workerOrNull() {
  if (typeof Worker !== "function") return null;
  try {
    return startWorker();
  } catch {
    return null;
  }
}

/** One running engine: a worker (or the page) with its own wasm instance. */
export class Engine {
  constructor(onFault) {
    this.number = ++engines;
    this.onFault = onFault;
    this.pending = new Map();
    this.callbacks = new Map();
    this.next = 1;
    this.dead = null;
    this.started = false;
    this.worker = workerOrNull();
    if (this.worker) {
      // The lock the worker holds while it lives (worker.js).
      this.name = `magpie-engine-${this.number}-${crypto.randomUUID()}`;
      this.worker.onerror = (event) => {
        event.preventDefault?.();
        if (this.started) this.fail(event.message || "its worker stopped");
        else this.unloadable(workerSource());
      };
      this.worker.onmessageerror = () => this.fail("a message could not be read");
      this.port = this.worker;
    } else {
      const channel = new MessageChannel();
      const { module, wasm } = pageEngine();
      // A fresh module URL gives a fresh module record, hence a fresh wasm instance after a fault.
      const url = this.number === 1 ? module : `${module}?instance=${this.number}`;
      const load = () => import(/* webpackIgnore: true */ /* @vite-ignore */ url).catch((error) => {
        throw new Error(`cannot load the engine's module from ${url} (${error?.message ?? error})`);
      });
      import("./host.js").then(({ serve }) => serve(channel.port2, { load, wasm }));
      this.port = channel.port1;
    }
    this.port.onmessage = ({ data }) => this.receive(data);
    this.ready = this.call(null, "start", [{ lock: this.name }]).then(({ value }) => {
      this.started = true;
      return value;
    }, (error) => {
      this.fail(`${error.message}: ${ASSETS_HINT}`);
      throw this.dead;
    });
    this.ready.catch(() => {}); // Its callers see the rejection; an idle pool engine has none.
    // Granted once the worker no longer holds it: it ended without an error event.
    if (this.worker && navigator.locks) {
      this.ready.then(() => navigator.locks.request(this.name, () => this.fail("its worker ended"))).catch(() => {});
    }
  }

  /** Ends an engine whose worker did not load from `source`, saying why where a request for it
   * can tell (not found, or not a script). */
  async unloadable(source) {
    let why = "it did not load";
    if (/^https?:/.test(source)) {
      why = await fetch(source).then((r) => (!r.ok ? `HTTP ${r.status}`
        : `served as ${r.headers.get("content-type") || "no type"}, or a script it imports did not load`), (e) => e.message);
    }
    this.fail(`cannot start the engine's worker from ${source} (${why}): ${ASSETS_HINT}`);
  }

  /** Calls `method` of `target` (null: a module function; a class name: a static method; a
   * handle: an object's method) with `args` (functions become callbacks); resolves to the
   * reply `{ value, handle?, info? }`. */
  call(target, method, args = [], transfer = []) {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    const callbacks = [];
    const sent = args.map((arg) => {
      if (typeof arg !== "function") return arg;
      const key = `${id}.${callbacks.length}`;
      callbacks.push(key);
      this.callbacks.set(key, arg);
      return { $callback: key };
    });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, callbacks });
      try {
        this.port.postMessage({ id, target, method, args: sent }, transfer);
      } catch (error) {
        // An argument that cannot cross to the engine (a function inside an object, a DOM node…).
        this.pending.delete(id);
        for (const key of callbacks) this.callbacks.delete(key);
        reject(new Error(`cannot send ${method}'s arguments to the engine: ${error.message}`));
      }
    });
  }

  receive(data) {
    if ("fault" in data) return this.fail(this.started ? data.fault : `the engine stopped while starting: ${data.fault}`);
    if ("callback" in data) return this.callbacks.get(data.callback)?.(...data.args);
    const call = this.pending.get(data.id);
    if (!call) return;
    this.pending.delete(data.id);
    for (const key of call.callbacks) this.callbacks.delete(key);
    if ("error" in data) call.reject(Object.assign(new Error(data.error), { name: data.name ?? "Error" }));
    else call.resolve(data);
  }

  /** Ends this engine: pending calls reject, the worker goes, and the client is told once if
   * it had started (one that never started rejects its calls with `message` as it is). */
  fail(message) {
    if (this.dead) return;
    this.dead = this.started ? new EngineFault(`the engine stopped on an internal error: ${message}`) : new Error(message);
    for (const call of this.pending.values()) call.reject(this.dead);
    this.pending.clear();
    this.callbacks.clear();
    this.worker?.terminate();
    if (this.started) this.onFault(message);
  }
}

/** Engines that compute examples' rows for the sessions, in parallel: the backbone pass of a new
 * example's frame, so the main engine stays free for live prediction and training, and the
 * augmented views samples lack, beside the session's own engine (training computes those still
 * missing itself). Each has a helper session per set of session options; one job at a time each. A
 * pool engine that faults or does not start is dropped (its job rejects, and the session embeds
 * by itself). */
class Pool {
  constructor(size) {
    this.size = size;
    this.members = [];
    this.waiting = [];
  }

  /** The rows of `source` as a session made with `options` computes them. */
  embed(options, source) {
    return this.call(options, "embed", [source]);
  }

  /** Calls `method` of a pool engine's session made with `options` (one that uses no samples,
   * such as `embedSampleViews`). */
  call(options, method, args) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ options, method, args, resolve, reject });
      this.dispatch();
    });
  }

  dispatch() {
    // An engine that faulted or never started is dropped (its job rejected already).
    this.members = this.members.filter((m) => !m.engine.dead);
    while (this.waiting.length) {
      let member = this.members.find((m) => !m.busy);
      if (!member && this.members.length < this.size) {
        member = { engine: new Engine(() => this.dispatch()), helpers: new Map(), busy: false };
        this.members.push(member);
      }
      if (!member) return;
      this.run(member, this.waiting.shift());
    }
  }

  async run(member, job) {
    member.busy = true;
    try {
      const key = JSON.stringify(job.options);
      if (!member.helpers.has(key)) member.helpers.set(key, member.engine.call("FewShotSession", "create", [job.options]));
      const { handle } = await member.helpers.get(key);
      job.resolve((await member.engine.call(handle, job.method, job.args)).value);
    } catch (error) {
      job.reject(error);
    } finally {
      member.busy = false;
      this.dispatch();
    }
  }
}

/** The client: the current engine, started on first use and again after a fault, and the
 * embedding pool (up to one engine per core but one, once the first engine started in a worker). */
class Client extends EventTarget {
  constructor() {
    super();
    this.engine = null;
    this.pool = null;
  }

  /** The current engine, started if there is none (or the last one faulted or never started). */
  async current() {
    if (!this.engine || this.engine.dead) {
      const engine = new Engine((message) => this.dispatchEvent(new CustomEvent("fault", { detail: { message } })));
      this.engine = engine;
      this.catalogue = await engine.ready;
      const cores = globalThis.navigator?.hardwareConcurrency ?? 2;
      if (engine.worker) this.pool ??= new Pool(Math.max(1, Math.min(4, cores - 1)));
    }
    await this.engine.ready;
    return this.engine;
  }

  /** Calls a module function on the current engine; resolves to its value. */
  async run(method, ...args) {
    const engine = await this.current();
    return (await engine.call(null, method, args)).value;
  }
}

/** The page's one client. */
export const client = new Client();

/** Calls `listener(message)` whenever an engine faults; returns the function that stops it. */
export function onFault(listener) {
  const heard = (e) => listener(e.detail.message);
  client.addEventListener("fault", heard);
  return () => client.removeEventListener("fault", heard);
}

/** Whether `error` says the engine faulted (the call failed; the next one rebuilds). */
export const faulted = (error) => error instanceof EngineFault;

/** Whether `error` says the GPU device was lost: every later GPU call fails too. */
export const deviceLost = (error) => error?.name === "DeviceLost";

/** The engine's API: the wasm module's classes and functions, every call async. */
export const api = {
  FewShotSession: {
    /** A few-shot session (see the wasm API's `FewShotSession.create`); `journal: false` leaves
     * its rebuild after a fault to its owner (see remote.js). */
    create: (options, { journal } = {}) => Remote.create(client, "FewShotSession", options, { journal }),
  },
  ImageNetModel: {
    /** An ImageNet classifier (see the wasm API's `ImageNetModel.create`). */
    create: (options) => Remote.create(client, "ImageNetModel", options),
  },
  /** Backbone ids this engine offers, the default first. */
  backbones: async () => (await client.current(), client.catalogue.backbones),
  /** Every backbone as a picker offers it: `{ id, name, note, isDefault, optIn }`. */
  backboneChoices: async () => (await client.current(), client.catalogue.backboneChoices),
  /** The training settings' defaults, limits and choices. */
  trainingSettings: async () => (await client.current(), client.catalogue.trainingSettings),
  cleanSettings: (settings) => client.run("cleanSettings", settings),
  trainOptions: (settings) => client.run("trainOptions", settings),
  classFolders: (names) => client.run("classFolders", names),
  projectFile: (parts) => client.run("projectFile", parts),
  readProject: (bytes) => client.run("readProject", bytes),
  importArchive: (bytes, fileName) => client.run("importArchive", bytes, fileName),
  importFiles: (files, name) => client.run("importFiles", files, name),
  writeProject: (manifest, files) => client.run("writeProject", manifest, files),
  /** Panics the engine on purpose, to check fault handling. */
  simulateFault: () => client.run("simulateFault"),
};
