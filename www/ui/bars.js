// Confidence bars, the one kind the page's preview and both widgets show, and the widgets'
// events: one row per class, in class order, the top class highlighted. Parts: `bar` (a row),
// `label`, `fill`; classes `label name`, `track bar`, `fill`, `value` (the page's style sheet
// styles `.name` and `.bar`, a widget's `.label`, `.track` and `.fill`).

/** The bars' styles, for a widget's constructed sheet. */
export const BARS_STYLE = `
ul { list-style: none; padding: 0; margin: .4rem 0 0; display: grid; gap: .25rem; }
li { display: grid; grid-template-columns: minmax(3rem, 8rem) 1fr 3rem; gap: .4rem; align-items: center; }
.track { height: .8rem; border-radius: .4rem; overflow: hidden; background: var(--magpie-track, #e2e8f0); }
.fill { height: 100%; background: var(--magpie-accent, #2b6cb0); }
li.top .label { font-weight: 700; }
.value { text-align: right; font-variant-numeric: tabular-nums; }
`;

/** One `<li>` per class of `scores` (ranked, as `predict` returns them), in class order; the
 * top class is highlighted unless the model is `unsure`. */
export function barRows(scores, unsure = false) {
  return [...scores].sort((a, b) => a.class - b.class).map((s) => {
    const percent = Math.round(s.probability * 100);
    const li = document.createElement("li");
    li.part = "bar";
    li.className = s === scores[0] && !unsure ? "top" : "";
    const name = Object.assign(document.createElement("span"), { className: "label name", textContent: s.label });
    name.part = "label";
    const track = Object.assign(document.createElement("span"), { className: "track bar" });
    track.setAttribute("role", "meter");
    track.setAttribute("aria-label", `${s.label} confidence`);
    track.setAttribute("aria-valuemin", "0");
    track.setAttribute("aria-valuemax", "100");
    track.setAttribute("aria-valuenow", String(percent));
    const fill = Object.assign(document.createElement("span"), { className: "fill" });
    fill.part = "fill";
    fill.style.width = `${s.probability * 100}%`;
    track.append(fill);
    li.append(name, track, Object.assign(document.createElement("span"), { className: "value", textContent: `${percent} %` }));
    return li;
  });
}

/** What a prediction says: its top class with its probability, or that the model is not sure
 * (naming the closest class). */
export function verdict({ scores, unsure }) {
  const top = scores[0];
  if (!top) return "";
  const percent = `${Math.round(top.probability * 100)} %`;
  return unsure ? `Not sure (closest: ${top.label}, ${percent})` : `${top.label} (${percent})`;
}

/** What a widget's `prediction` event says of a prediction `{ scores, unsure }`: `{ label,
 * probability, scores, unsure }`, the label "unknown" when the model is not sure. */
export function predictionDetail({ scores, unsure }) {
  return { label: unsure ? "unknown" : scores[0].label, probability: scores[0].probability, scores, unsure };
}

/** Dispatches a widget event that crosses shadow roots. */
export function emit(element, type, detail) {
  element.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
}
