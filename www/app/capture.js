// Recording samples from the camera: hold-to-record (mouse, touch or keyboard) at a set rate,
// and timed recording (a countdown, then a fixed duration).

/** Records camera frames into a project's classes. */
export class Recorder extends EventTarget {
  constructor(camera, project, options) {
    super();
    this.camera = camera;
    this.project = project;
    /** `{ rate() (frames per second), report(error) }`. */
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
    this.timer = setInterval(grab, 1000 / this.options.rate());
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

/** Makes `button` record while held: pointer down/up (mouse and touch) and Space/Enter. */
export function holdToRecord(button, start, stop) {
  button.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    button.setPointerCapture?.(e.pointerId);
    start();
  });
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) button.addEventListener(type, stop);
  button.addEventListener("keydown", (e) => {
    if ((e.key === " " || e.key === "Enter") && !e.repeat) start();
    if (e.key === " " || e.key === "Enter") e.preventDefault();
  });
  button.addEventListener("keyup", (e) => { if (e.key === " " || e.key === "Enter") stop(); });
  button.addEventListener("blur", stop);
  button.addEventListener("contextmenu", (e) => e.preventDefault());
}
