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
    // Through the CSSOM: a style attribute is blocked by the page's CSP (no 'unsafe-inline').
    else if (key === "style") element.style.cssText = value;
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

/** Shows the lasting notice `key` (replacing an earlier one with that key) with optional action
 * buttons (`{ label, run }`), or removes it when `text` is null: for a state that stays until
 * its cause is gone, such as a project that is not being saved. */
export function notice(key, text, ...actions) {
  let host = $("notices");
  if (!host) {
    host = h("div", { id: "notices" });
    $("status").after(host);
  }
  [...host.children].find((n) => n.dataset.key === key)?.remove();
  if (!text) return;
  host.append(h("p", { class: "notice", role: "alert", dataset: { key } }, h("span", {}, text),
    ...actions.map((a) => h("button", { type: "button", onclick: a.run }, a.label))));
}
