// The engine's side of the client (client.js): it runs the wasm module and answers the
// client's messages. In a dedicated worker it is the whole worker (worker.js); when
// the page cannot start a worker (the package hosted on another origin) the client runs it on
// the page through a MessageChannel, so the protocol and this code are the same either way.
//
// Messages in: `{ id, target, method, args }`, where `target` is null (a module function), a
// class name (a static method, such as "FewShotSession" with "create") or the handle of an
// object made earlier; an argument `{ $callback: n }` stands for a function of the client's.
// Messages out: `{ id, value, handle?, info? }` or `{ id, error, name }` (the error's message and
// its `name`, which callers decide on); `{ callback, args }` when a
// client function is called; `{ fault }` when the engine panics (the instance is then unusable).

import { reads } from "./methods.js";

/** Serves the client's messages on `port` (a worker's global scope or a MessagePort) with the
 * engine's wasm module: `load()` resolves to the module, `wasm` is its binary's URL, and
 * `hold(name)`, where given, resolves once the worker holds the lock the client watches. */
export function serve(port, { load, wasm, hold = async () => {} }) {
  let module = null;
  /** Settles once the module is loaded: every other call waits for it. */
  let started = null;
  const objects = new Map();
  let nextHandle = 1;
  const post = (message, transfer = []) => port.postMessage(message, transfer);

  /** `args` with each `{ $callback }` made into a function that calls the client's. */
  const withCallbacks = (args) => args.map((arg) => (arg && typeof arg === "object" && "$callback" in arg
    ? (...values) => post({ callback: arg.$callback, args: values })
    : arg));

  async function start({ lock }) {
    await hold(lock);
    module = await load();
    const init = () => module.default({ module_or_path: wasm });
    // Engines starting together (the embedding pool's) fetch the same wasm at once; Chrome then
    // sometimes aborts one's streamed compile ("Response body loading was aborted"): once more.
    await init().catch(init).catch((error) => {
      throw new Error(`cannot start the engine's wasm from ${wasm} (${error?.message ?? error})`);
    });
    module.onFault((message) => post({ fault: message }));
    return { backbones: module.backbones(), backboneChoices: module.backboneChoices(), trainingSettings: module.trainingSettings() };
  }

  async function run({ target, method, args }) {
    if (method === "start") {
      started = start(args[0] ?? {});
      return { value: await started };
    }
    await started;
    if (target === null) return { value: await module[method](...withCallbacks(args)) };
    if (typeof target === "string") {
      const made = await module[target][method](...withCallbacks(args));
      objects.set(nextHandle, made);
      return { value: null, handle: nextHandle++, info: made.info() };
    }
    const object = objects.get(target);
    if (!object) throw new Error("this object was freed");
    if (method === "free") {
      objects.delete(target);
      object.free();
      return { value: null };
    }
    if (method === "embed") return { value: await embed(object, args[0]) };
    const value = await object[method](...withCallbacks(args));
    // The rows a new example got, in the same turn (a later call may make the session busy).
    if (method === "addSample") return { value, info: object.info(), embedding: object.sampleEmbedding(value) };
    return reads(method) ? { value } : { value, info: object.info() };
  }

  /** The rows `session` computes for an image, kept by no one: a pool engine's job. */
  async function embed(session, source) {
    const id = await session.addSample("pool", source);
    const rows = session.sampleEmbedding(id);
    session.removeSample(id);
    return rows;
  }

  port.onmessage = async ({ data }) => {
    try {
      const reply = await run(data);
      // A typed array wasm-bindgen copied out of the wasm memory owns its buffer: it moves.
      const own = ArrayBuffer.isView(reply.value) && reply.value.byteLength === reply.value.buffer.byteLength;
      post({ id: data.id, ...reply }, own ? [reply.value.buffer] : []);
    } catch (error) {
      post({ id: data.id, error: error?.message ?? String(error), name: error?.name ?? "Error" });
    }
  };
}
