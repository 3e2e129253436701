// Hold-to-record, for every record button of the page and <magpie-trainer>: mouse, touch and
// keyboard.

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
