// Recording samples from the camera into a project, the one recording semantics of the page and
// <magpie-trainer>: a frame every 1/rate s while recording (each is shown and saved at once and
// embedded in the background, so a slow engine never slows the capture), or timed recording (a
// countdown, then a fixed duration). Fires `change` (`detail.classId`, null when it stops).

/** Samples per second while a record button is held, unless the host sets another rate. */
export const DEFAULT_RATE = 10;

/** Records camera frames into a project's classes. */
export class Recorder extends EventTarget {
  /** `camera`: core/camera.js's; `options`: `{ rate() (samples per second, default
   * DEFAULT_RATE), report(error) }`. */
  constructor(camera, project, options) {
    super();
    this.camera = camera;
    this.project = project;
    this.options = options;
    this.timer = null;
    this.classId = null;
    camera.addEventListener("state", (e) => { if (!e.detail.on) this.stop(); });
  }

  get recording() { return this.classId !== null; }

  /** Starts recording into `classId` (starting the camera if needed) until `stop`. */
  async start(classId) {
    if (this.recording) return;
    this.classId = classId;
    this.project.setRecording(true);
    this.changed();
    try {
      if (!this.camera.on) await this.camera.start();
    } catch (error) {
      this.stop();
      this.options.report(error);
      return;
    }
    if (this.classId !== classId) return;
    const grab = () => {
      const frame = this.camera.frame();
      if (frame) this.project.addCapture(classId, frame).catch((e) => this.options.report(e));
    };
    grab();
    this.timer = setInterval(grab, 1000 / (this.options.rate?.() || DEFAULT_RATE));
  }

  /** Stops recording. */
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.classId === null) return;
    this.classId = null;
    this.project.setRecording(false);
    this.changed();
  }

  /** Counts down `delay` seconds (calling `tick(secondsLeft)`), then records for `duration`. */
  async timed(classId, delay, duration, tick) {
    for (let left = Math.ceil(delay); left > 0; left -= 1) {
      tick(left);
      await new Promise((r) => setTimeout(r, 1000));
    }
    tick(0);
    await this.start(classId);
    await new Promise((r) => setTimeout(r, duration * 1000));
    this.stop();
  }

  changed() {
    this.dispatchEvent(new CustomEvent("change", { detail: { classId: this.classId } }));
  }
}
