// Small DOM helpers shared by the views. Text is always set as text, never parsed as HTML:
// class names and file names come from users.

/** An element: `h("button", { class: "x", onclick }, "text", child)`. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key in element && typeof value !== "string") element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** A message for `error`, whatever was thrown. */
export const messageOf = (error) => error?.message ?? String(error);

/** Bytes as "1.2 MB". */
export function formatBytes(bytes) {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Shows a status line (polite live region); errors are styled and announced assertively. */
export function status(text, kind = "info") {
  const line = $("status");
  line.textContent = text;
  line.dataset.kind = kind;
  line.setAttribute("aria-live", kind === "error" ? "assertive" : "polite");
}

/** A transient message with an optional action button ("Undo"), gone after `ms`. */
export function toast(text, action, ms = 8000) {
  const host = $("toasts");
  const item = h("div", { class: "toast", role: "status" }, h("span", {}, text));
  const close = () => item.remove();
  if (action) item.append(h("button", { type: "button", onclick: () => { close(); action.run(); } }, action.label));
  host.append(item);
  setTimeout(close, ms);
}
