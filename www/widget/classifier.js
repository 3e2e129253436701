// <magpie-classifier model="model.bpk">: live predictions of a trained model on the camera, or
// on an <img>, <video> or <canvas> of the page named by `source`, with confidence bars.
//
// Attributes: model (URL, required), source (id of an element to classify instead of the
// camera), camera ("user" | "environment"), mirror, threshold (0-1: below it the model is "not
// sure"; default: the threshold saved in the model, calibrated when it was trained), backend
// ("auto" | "wgpu" | "cpu"), ui ("none" hides the bars), events ("frame": a `prediction` event
// every frame, the default; "change": only when the label changes).
// Events: `ready` ({ labels, backbone, threshold }), `prediction` ({ label, probability,
// scores, unsure }: `label` is "unknown" when `unsure`), `error` ({ message }). Styling: parts
// `video`, `verdict` (the top class, or "Not sure"), `bars`, `bar`, `label`, `fill`; custom
// properties --magpie-accent, --magpie-track, --magpie-font.
import { api, faulted, reportFaults } from "./api.js";
import { square } from "../engine/frames.js";
import { BARS_STYLE, barRows, emit, predictionDetail, verdict } from "../ui/bars.js";

const STYLE = `
:host { display: inline-block; font: var(--magpie-font, 14px system-ui, sans-serif); min-width: 12rem; }
video { width: 100%; border-radius: .4rem; display: block; background: #000; }
video.mirrored { transform: scaleX(-1); }
.message { color: #c53030; }
.verdict { font-weight: 700; margin: .3rem 0 0; min-height: 1.2em; }
[hidden] { display: none !important; }
`;

/** The widget's styles, shared by every instance: a constructed sheet, which a host page's
 * Content-Security-Policy allows where a <style> element would need 'unsafe-inline'. */
const SHEET = new CSSStyleSheet();
SHEET.replaceSync(STYLE + BARS_STYLE);

/** The inference widget. */
export class MagpieClassifier extends HTMLElement {
  static observedAttributes = ["model", "source", "camera", "mirror", "backend"];

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    this.root.adoptedStyleSheets = [SHEET];
    this.root.innerHTML = `<video part="video" playsinline muted hidden></video>` +
      `<p part="verdict" class="verdict" aria-live="polite"></p><ul part="bars"></ul><p class="message" role="alert" hidden></p>`;
    this.video = this.root.querySelector("video");
    this.session = null;
    this.stream = null;
    this.generation = 0;
    this.lastLabel = null;
  }

  /** Class names of the loaded model. */
  get labels() { return this.session?.info().modelLabels ?? []; }

  connectedCallback() {
    this.unreport ??= reportFaults(this, emit);
    this.scheduleRestart();
  }

  disconnectedCallback() {
    this.unreport?.();
    this.unreport = null;
    this.stop();
  }
  attributeChangedCallback() { if (this.isConnected) this.scheduleRestart(); }

  /** Restarts once for a burst of changes (an element upgraded with several attributes fires
   * one callback per attribute, then `connectedCallback`). */
  scheduleRestart() {
    if (this.restartQueued) return;
    this.restartQueued = true;
    queueMicrotask(() => {
      this.restartQueued = false;
      if (this.isConnected) this.restart();
    });
  }

  /** Loads the model and starts predicting; errors become an `error` event and a message. */
  async restart() {
    this.stop();
    const generation = ++this.generation;
    const model = this.getAttribute("model");
    // Without a model the widget waits for one (the attribute can be set later).
    if (!model) return;
    try {
      const backend = this.getAttribute("backend") ?? "auto";
      const session = await api.FewShotSession.create({
        model: new URL(model, document.baseURI).href, backend, headBackend: backend,
      });
      if (generation !== this.generation) return session.dispose();
      this.session = session;
      this.root.querySelector(".message").hidden = true;
      emit(this, "ready", { labels: this.labels, backbone: session.info().backbone, threshold: session.info().threshold ?? 0 });
      await this.run(generation);
    } catch (error) {
      if (generation === this.generation) this.fail(error?.message ?? String(error));
    }
  }

  /** Predicts from the source element, or from the camera, until stopped. */
  async run(generation) {
    const id = this.getAttribute("source");
    let source = id ? document.getElementById(id) : null;
    if (id && !source) throw new Error(`there is no element with id "${id}" to classify`);
    if (!source) {
      const facingMode = this.getAttribute("camera") ?? "user";
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode }, audio: false });
      this.video.srcObject = this.stream;
      this.video.hidden = false;
      this.video.classList.toggle("mirrored", this.hasAttribute("mirror"));
      await this.video.play();
      source = this.video;
    }
    while (generation === this.generation) {
      try {
        // The camera's frames go as the page's do: the centred square (engine/frames.js).
        if (ready(source)) await this.predictFrom(source === this.video ? square(source) : source);
      } catch (error) {
        // After an engine fault (reported once, by reportFaults) the client rebuilds the model
        // on the next call: go on.
        if (!faulted(error)) throw error;
      }
      await new Promise((r) => requestAnimationFrame(r));
    }
  }

  /** Predicts one image (any source the JS API takes) and shows and announces the result. */
  async predict(source) {
    if (!this.session) throw new Error("the model is not loaded yet");
    return this.predictFrom(source);
  }

  async predictFrom(source) {
    this.inflight = this.session.predict(source);
    const prediction = await this.inflight;
    const { scores } = prediction;
    const top = scores[0];
    // The attribute overrides the model's own threshold.
    const unsure = this.hasAttribute("threshold")
      ? top.probability < Number(this.getAttribute("threshold"))
      : prediction.unsure;
    const detail = predictionDetail({ scores, unsure });
    this.show(scores, unsure);
    if (this.getAttribute("events") !== "change" || detail.label !== this.lastLabel) {
      emit(this, "prediction", detail);
    }
    this.lastLabel = detail.label;
    return detail;
  }

  show(scores, unsure) {
    const hidden = this.getAttribute("ui") === "none";
    const bars = this.root.querySelector("ul");
    const line = this.root.querySelector(".verdict");
    bars.hidden = hidden;
    line.hidden = hidden;
    this.video.hidden = !this.stream || hidden;
    bars.replaceChildren(...barRows(scores, unsure));
    line.textContent = verdict({ scores, unsure });
  }

  /** Stops the camera and the loop, and frees the model. */
  stop() {
    this.generation += 1;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.video.hidden = true;
    // A prediction still running holds the session: free it once that is done.
    const session = this.session;
    this.session = null;
    Promise.resolve(this.inflight).catch(() => {}).finally(() => session?.dispose());
  }

  fail(message) {
    const line = this.root.querySelector(".message");
    line.textContent = message;
    line.hidden = false;
    emit(this, "error", { message });
  }
}

/** Whether `source` has pixels to read now. */
function ready(source) {
  if (source instanceof HTMLImageElement) return source.complete && source.naturalWidth > 0;
  if (source instanceof HTMLVideoElement) return source.readyState >= 2;
  return true;
}

customElements.get("magpie-classifier") ?? customElements.define("magpie-classifier", MagpieClassifier);
