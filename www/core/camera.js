// The webcam, for the page and <magpie-trainer>: every video input, the chosen one remembered
// across visits (the page's), mirroring, and frames as model-sized squares (the one capture
// policy, engine/frames.js). Fires `state` events (`detail`: { on, error }) when it starts, stops,
// or is lost (unplugged, taken by another app, permission revoked).

import { squareOf } from "../engine/frames.js";

const REMEMBERED = "magpie.camera";
const MIRRORED = "magpie.mirror";

/** The camera behind a `<video>` element. */
export class Camera extends EventTarget {
  /** `remember`: keep the chosen camera and mirroring across visits (in localStorage; a widget
   * leaves its host's storage alone); `facingMode`: the camera to ask for when none was chosen;
   * `mirror`: the starting mirroring when none is remembered. */
  constructor(video, { remember = true, facingMode = "user", mirror = true } = {}) {
    super();
    this.video = video;
    this.stream = null;
    this.storage = remember ? globalThis.localStorage : null;
    this.facingMode = facingMode;
    this.mirror = (this.storage?.getItem(MIRRORED) ?? String(mirror)) !== "false";
    this.applyMirror();
  }

  get on() { return !!this.stream; }

  /** Video inputs, as `{ deviceId, label }` (labels appear once permission was granted). */
  async devices() {
    const all = await navigator.mediaDevices?.enumerateDevices?.().catch(() => []) ?? [];
    return all.filter((d) => d.kind === "videoinput")
      .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Camera ${i + 1}` }));
  }

  /** The remembered camera's id, if any. */
  get chosen() { return this.storage?.getItem(REMEMBERED) ?? ""; }

  /** Starts the camera `deviceId` (or the remembered one, or the default); throws a message
   * a person can act on when it cannot. */
  async start(deviceId = this.chosen) {
    this.stop();
    if (!navigator.mediaDevices?.getUserMedia) throw new Error("This browser cannot use a camera on this page (it needs HTTPS). Upload images instead");
    const video = { width: { ideal: 640 }, height: { ideal: 480 }, ...(deviceId ? { deviceId: { exact: deviceId } } : { facingMode: this.facingMode }) };
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (error) {
      if (deviceId && (error.name === "OverconstrainedError" || error.name === "NotFoundError")) {
        this.storage?.removeItem(REMEMBERED);
        return this.start("");
      }
      throw new Error(explain(error));
    }
    this.stream = stream;
    const track = stream.getVideoTracks()[0];
    const id = track?.getSettings?.().deviceId;
    if (id) this.storage?.setItem(REMEMBERED, id);
    track?.addEventListener("ended", () => {
      if (this.stream !== stream) return;
      this.stop();
      this.dispatchEvent(new CustomEvent("state", { detail: { on: false, error: "the camera stopped (unplugged or taken by another app)" } }));
    });
    this.video.srcObject = stream;
    await this.video.play().catch(() => {});
    this.dispatchEvent(new CustomEvent("state", { detail: { on: true } }));
  }

  /** Stops the camera. */
  stop() {
    if (!this.stream) return;
    for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.dispatchEvent(new CustomEvent("state", { detail: { on: false } }));
  }

  /** Mirrors the preview (what the model sees is never mirrored). */
  setMirror(on) {
    this.mirror = on;
    this.storage?.setItem(MIRRORED, String(on));
    this.applyMirror();
  }

  applyMirror() {
    this.video.classList.toggle("mirrored", this.mirror);
  }

  /** The current frame's centred square, or null when there is no frame yet. */
  frame() {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!this.stream || !w || !h) return null;
    return squareOf(this.video, w, h);
  }
}

/** What went wrong with getUserMedia, in words. */
function explain(error) {
  switch (error.name) {
    case "NotAllowedError": return "Camera permission was denied. Allow the camera (the icon in the address bar), or upload images instead";
    case "NotFoundError": return "No camera was found. Connect one, or upload images instead";
    case "NotReadableError": return "The camera is in use by another app. Close that app, or upload images instead";
    default: return `The camera could not start (${error.message || error.name})`;
  }
}
