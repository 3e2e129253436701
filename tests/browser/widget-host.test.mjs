// The packaged widgets (scripts/package.sh, served from another origin) on a host page with a
// strict Content-Security-Policy: scripts from the host and the package origin plus
// 'wasm-unsafe-eval', no inline script or style. <magpie-trainer> records, trains and hands its
// model to <magpie-classifier>, which predicts; meanwhile the page reports no CSP violation, and
// the widgets never touch the host outside their shadow roots: no DOM change (a MutationObserver
// on the whole document), no new global, no style leaking in or out.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASSETS, ROOT, fakeCamera, holdTrainerRecord, serveFolders, useBrowser } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const env = useBrowser();
const hosts = {};
let running = null;

const photos = (digit, n) => readdirSync(join(DATASET, digit)).sort().slice(0, n).map((f) => `/photos/${digit}/${f}`);

/** The host page's own rules, which must not reach into the widgets. */
const HOST_CSS = `button { color: rgb(255, 0, 0); border: 5px solid rgb(255, 0, 0); }
span { outline: 3px solid rgb(255, 0, 0); }`;

/** Run by the host once its content is parsed (a classic script, last in the body): watches the
 * whole document and notes the globals and style sheets there are before any widget runs. */
const OBSERVE = `window.__mutations = [];
new MutationObserver((records) => {
  for (const r of records) {
    window.__mutations.push({ type: r.type, target: r.target.nodeName + (r.target.id ? "#" + r.target.id : ""),
      attribute: r.attributeName, added: [...r.addedNodes].map((n) => n.nodeName), removed: [...r.removedNodes].map((n) => n.nodeName) });
  }
}).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
window.__before = { names: Object.getOwnPropertyNames(window).concat("__before"), sheets: document.styleSheets.length };`;

/** The host's module: the widgets, and the trainer's model handed to the classifier. */
const hostModule = (packageUrl) => `import "${packageUrl}www/widgets.js";
const classifier = document.getElementById("classifier");
document.getElementById("trainer").addEventListener("model", (e) =>
  classifier.setAttribute("model", URL.createObjectURL(new Blob([e.detail.bytes]))));`;

/** An init script: every CSP violation, kept in `window.__violations`. */
function recordViolations() {
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample });
  }, true);
}

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "magpie-package-"));
  const built = spawnSync("bash", ["scripts/package.sh", join(dir, "package")], { cwd: ROOT, encoding: "utf8" });
  assert.equal(built.status, 0, built.stderr);
  hosts.package = await serveFolders({ "/": join(dir, "package") }, { cors: true });
  const origin = new URL(hosts.package.url).origin;
  const policy = `default-src 'self'; script-src 'self' ${origin} 'wasm-unsafe-eval'; style-src 'self'; ` +
    `connect-src 'self' ${origin} blob:; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; object-src 'none'; base-uri 'self'`;
  const html = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${policy}">` +
    `<title>host</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/host.css">` +
    `<script type="module" src="/host.js"></script></head><body>` +
    `<p id="ordinary">Ordinary page content.</p><button id="host-button" type="button">Host button</button>` +
    `<ul id="host-list"><li id="host-item">item</li></ul><div class="row" id="host-row"><span>a</span></div>` +
    `<progress id="host-progress"></progress><p class="message" id="host-message">host message</p>` +
    `<img id="photo" src="${photos("0", 20)[19]}" alt="">` +
    `<magpie-trainer id="trainer" backbone="mobilenet_v1_025" backend="cpu" classes="zero,five" rate="10"></magpie-trainer>` +
    `<magpie-classifier id="classifier" source="photo" backend="cpu"></magpie-classifier>` +
    `<script src="/observe.js"></script></body></html>`;
  hosts.page = await serveFolders({
    "/": { type: "text/html", body: html },
    "/host.css": { type: "text/css", body: HOST_CSS },
    "/observe.js": { type: "text/javascript", body: OBSERVE },
    "/host.js": { type: "text/javascript", body: hostModule(hosts.package.url) },
    "/photos/": DATASET,
  });
});
after(() => { hosts.package?.server.close(); hosts.page?.server.close(); });

/** What the page saw, from one run shared by the tests. */
const seen = () => (running ??= runWidgets());

/** Opens the host page, records two classes in the trainer, trains, waits for the classifier's
 * predictions, and returns what the page saw. */
async function runWidgets() {
  const context = await env.browser.newContext();
  await context.addInitScript(recordViolations);
  await context.addInitScript(fakeCamera);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  await page.goto(hosts.page.url);
  await page.waitForFunction(() => /Hold a class/.test(document.getElementById("trainer").shadowRoot.querySelector(".status").textContent),
    null, { timeout: 180_000 });
  for (const [i, digit] of ["0", "5"].entries()) {
    await page.evaluate((urls) => window.__camera.show(urls), photos(digit, 8));
    await holdTrainerRecord(page, i, 6);
  }
  await page.locator("magpie-trainer button.train").click();
  await page.waitForFunction(() => document.getElementById("classifier").shadowRoot.querySelectorAll("li").length === 2, null, { timeout: 300_000 });
  const result = await page.evaluate(() => {
    const style = (element) => getComputedStyle(element);
    const trainer = document.getElementById("trainer").shadowRoot;
    const classifier = document.getElementById("classifier").shadowRoot;
    return {
      violations: window.__violations,
      mutations: window.__mutations,
      newGlobals: Object.getOwnPropertyNames(window).filter((n) => !window.__before.names.includes(n)),
      sheets: [window.__before.sheets, document.styleSheets.length, document.adoptedStyleSheets.length],
      defined: [customElements.get("magpie-trainer") !== undefined, customElements.get("magpie-classifier") !== undefined],
      label: classifier.querySelector("li.top .label")?.textContent,
      widget: {
        buttons: [...trainer.querySelectorAll("button")].map((b) => [style(b).color, style(b).borderTopWidth]),
        spans: [...trainer.querySelectorAll(".count"), ...classifier.querySelectorAll("span")].map((s) => style(s).outlineStyle),
        row: style(trainer.querySelector(".row")).display,
        bars: style(classifier.querySelector("ul")).display,
      },
      host: {
        button: [style(document.getElementById("host-button")).color, style(document.getElementById("host-button")).borderTopWidth],
        list: style(document.getElementById("host-list")).listStyleType,
        item: style(document.getElementById("host-item")).display,
        row: style(document.getElementById("host-row")).display,
        progress: document.getElementById("host-progress").getBoundingClientRect().width < document.body.clientWidth / 2,
        message: style(document.getElementById("host-message")).color,
        text: document.getElementById("ordinary").textContent,
      },
    };
  });
  await context.close();
  return { ...result, errors };
}

test("the packaged widgets run under a strict host CSP: no violation, no error", async () => {
  const saw = await seen();
  assert.deepEqual(saw.violations, []);
  assert.deepEqual(saw.errors, []);
  assert.deepEqual(saw.defined, [true, true]);
  assert.equal(saw.label, "zero", "the classifier names the held-out photo");
  // The widgets' own styles apply (constructed sheets, which the policy allows).
  assert.equal(saw.widget.row, "flex");
  assert.equal(saw.widget.bars, "grid");
});

test("the widgets change nothing in the host's DOM outside their shadow roots", async () => {
  const saw = await seen();
  // The one change is the host's own: it hands the trained model to the classifier.
  assert.deepEqual(saw.mutations, [{ type: "attributes", target: "MAGPIE-CLASSIFIER#classifier", attribute: "model", added: [], removed: [] }]);
  assert.deepEqual(saw.sheets, [1, 1, 0], "no style sheet added to the document");
  assert.equal(saw.host.text, "Ordinary page content.");
});

test("the widgets add no global to the host (the elements are in the custom element registry)", async () => {
  const saw = await seen();
  assert.deepEqual(saw.newGlobals, []);
});

test("host CSS does not restyle the widgets, and the widgets' CSS does not restyle the host", async () => {
  const saw = await seen();
  for (const [color, border] of saw.widget.buttons) {
    assert.notEqual(color, "rgb(255, 0, 0)", "host button colour stays out");
    assert.notEqual(border, "5px", "host button border stays out");
  }
  assert.ok(saw.widget.spans.every((s) => s === "none"), `host span outline stays out: ${saw.widget.spans}`);
  assert.deepEqual(saw.host.button, ["rgb(255, 0, 0)", "5px"], "the host's own rule applies to its button");
  assert.equal(saw.host.list, "disc", "widget `ul { list-style: none }` stays in");
  assert.equal(saw.host.item, "list-item", "widget `li { display: grid }` stays in");
  assert.equal(saw.host.row, "block", "widget `.row { display: flex }` stays in");
  assert.equal(saw.host.progress, true, "widget `progress { width: 100% }` stays in");
  assert.notEqual(saw.host.message, "rgb(197, 48, 48)", "widget `.message` colour stays in");
});
