// One scripted journey, run against the page and against <magpie-trainer>, which are views over
// the same core (www/core/): add a third class and name the three, record each from the camera,
// train, preview a held-out photo, correct one frame from the preview (the model trains again),
// then a simulated engine fault (the project rebuilds its session from its own samples). Both
// hosts end with the same counts, shown and held by the engine, and the same model state.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ASSETS, contextWith, fakeCamera, openIn, useBrowser } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const CLASSES = { zero: "0", five: "5", nine: "9" };
/** Samples each class keeps: the button is held until at least this many are in, and the few
 * more a held button records on a fast or slow machine are then removed. */
const SHOTS = 5;
const env = useBrowser();

const urls = (digit, from, n) => readdirSync(join(DATASET, digit)).sort().slice(from, from + n)
  .map((f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`);

/** The page, as the journey drives it: its controls, and its core objects (`core()` in the page). */
const PAGE = {
  name: "page",
  async open(context) {
    const { page, errors } = await openIn(context, env.url);
    return { page, errors };
  },
  /** Puts the host's core objects at `window.__core`. */
  expose: () => Object.defineProperty(window, "__core", {
    get: () => ({ project: window.magpie.app.project, training: window.magpie.app.trainer }),
  }),
  scope: (page) => page.locator("body"),
  record: (scope, i) => scope.locator(".class-card").nth(i).getByRole("button", { name: /Hold to record/ }),
  count: ".class-card .count",
  correction: "#correct-class",
  verdict: "#prediction",
  simulateFault: () => window.magpie.simulateFault(),
};

/** <magpie-trainer> on a page of its own, as the journey drives it. */
const WIDGET = {
  name: "<magpie-trainer>",
  async open(context) {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    // A page of the app's origin holding the widget alone.
    await context.route(`${env.url}trainer.html`, (route) => route.fulfill({ contentType: "text/html", body: `<!doctype html>
      <meta charset="utf-8"><title>trainer</title><script type="module" src="/www/widgets.js"></script>
      <magpie-trainer id="trainer" backbone="mobilenet_v1_025" backend="cpu"></magpie-trainer>` }));
    await page.goto(`${env.url}trainer.html`);
    await page.waitForFunction(() => /Hold a class/.test(document.getElementById("trainer").shadowRoot.querySelector(".status").textContent),
      null, { timeout: 180_000 }).catch(async (error) => {
      throw new Error(`${error.message}; the widget says: ${await page.locator("magpie-trainer .status").textContent()}`);
    });
    return { page, errors };
  },
  expose: () => Object.defineProperty(window, "__core", {
    get: () => ({ project: document.getElementById("trainer").project, training: document.getElementById("trainer").training }),
  }),
  scope: (page) => page.locator("magpie-trainer"),
  record: (scope, i) => scope.locator(".classes .row").nth(i).getByRole("button", { name: /Hold to record/ }),
  count: "magpie-trainer .count",
  correction: "magpie-trainer .correct select",
  verdict: "magpie-trainer .verdict",
  simulateFault: async () => (await import("/www/widgets.js")).api.simulateFault(),
};

/** Runs the journey on `host`; resolves to what it ends with. */
async function journey(host) {
  const context = await contextWith(env.browser, [[fakeCamera]]);
  const { page, errors } = await host.open(context);
  const scope = host.scope(page);
  await page.evaluate(host.expose);
  const step = (what) => process.stderr.write(`${host.name}: ${what}\n`);
  const shownCounts = async () => (await page.locator(host.count).allTextContents()).map((t) => Number.parseInt(t, 10));
  const settled = async () => {
    await page.waitForFunction(() => window.__core.project.pending === 0, null, { timeout: 120_000 });
    await page.evaluate(() => window.__core.project.queue);
  };

  step("classes");
  // Three classes, named through their fields.
  await scope.getByRole("button", { name: "Add a class" }).click();
  const names = Object.keys(CLASSES);
  for (const [i, name] of names.entries()) {
    const field = scope.getByLabel("Class name").nth(i);
    await field.fill(name);
    await field.press("Enter");
    await field.dispatchEvent("change");
  }
  step("record");
  // Each class recorded from the camera, then trimmed to SHOTS samples.
  for (const [i, digit] of Object.values(CLASSES).entries()) {
    await page.evaluate((list) => window.__camera.show(list), urls(digit, 0, 8));
    // hover waits until the button is stable and nothing covers it, then puts the pointer on it.
    await host.record(scope, i).hover();
    await page.mouse.down();
    await page.waitForFunction(([i, n]) => {
      const { project } = window.__core;
      return project.samplesOf(project.classes[i].id).length >= n;
    }, [i, SHOTS], { timeout: 60_000 });
    await page.mouse.up();
    await settled();
  }
  await page.evaluate((shots) => {
    const { project } = window.__core;
    for (const cls of project.classes) project.removeSamples(project.samplesOf(cls.id).slice(shots).map((s) => s.id));
  }, SHOTS);
  await settled();
  assert.deepEqual(await shownCounts(), [SHOTS, SHOTS, SHOTS], `${host.name}: the counts shown`);
  step("train");
  // Train; the model goes live.
  await scope.getByRole("button", { name: "Train", exact: true }).click();
  const trained = () => page.waitForFunction(() => !window.__core.training.running && !!window.__core.project.model,
    null, { timeout: 300_000 });
  await trained();
  step("preview");
  // The preview names a held-out photo; its frame is corrected into "five".
  await page.evaluate((list) => window.__camera.show(list), urls(CLASSES.five, 20, 1));
  await page.waitForFunction(([verdict]) => {
    const node = document.querySelector(verdict) ?? document.getElementById("trainer")?.shadowRoot.querySelector(".verdict");
    return /five/.test(node?.textContent ?? "");
  }, [host.verdict], { timeout: 120_000 });
  const revision = await page.evaluate(() => window.__core.project.revision);
  await page.locator(host.correction).selectOption({ label: "five" });
  await scope.getByRole("button", { name: /Add this frame/ }).click();
  await page.waitForFunction((revision) => {
    const { project, training } = window.__core;
    return project.revision > revision && !training.running && !project.modelStale && project.pending === 0;
  }, revision, { timeout: 300_000 });
  await trained();
  step("fault");
  // An engine fault: the project rebuilds its session from its samples and model.
  const before = await page.evaluate(() => {
    window.__before = window.__core.project.session;
    return window.__before.info().counts;
  });
  await page.evaluate(host.simulateFault).catch(() => {});
  await page.waitForFunction(() => {
    const { session } = window.__core.project;
    return session && session !== window.__before && session.info().trained;
  }, null, { timeout: 180_000 });
  await settled();
  step("state");
  const state = await page.evaluate(async (held) => {
    const { project } = window.__core;
    const predicted = [];
    for (const url of held) {
      const bitmap = await createImageBitmap(await (await fetch(url)).blob());
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      canvas.getContext("2d").drawImage(bitmap, 0, 0);
      const prediction = await project.predict(canvas.getContext("2d").getImageData(0, 0, bitmap.width, bitmap.height));
      predicted.push(prediction.scores[0].label);
    }
    const info = project.session.info();
    return {
      labels: project.classes.map((c) => c.name),
      counts: project.classes.map((c) => project.samplesOf(c.id).length),
      engineCounts: info.counts,
      engineLabels: info.labels,
      modelLabels: info.modelLabels,
      trained: info.trained,
      stale: project.modelStale,
      predicted,
    };
  }, Object.values(CLASSES).map((digit) => urls(digit, 30, 1)[0]));
  state.shown = await shownCounts();
  state.before = before;
  // The simulated panic is on the console, as every panic is; nothing else.
  assert.deepEqual(errors.filter((e) => !/a fault simulated on request|unreachable/.test(e)), [], host.name);
  await context.close();
  return state;
}

test("the same journey on the page and on <magpie-trainer>: the same counts and the same model state", async () => {
  const page = await journey(PAGE);
  const widget = await journey(WIDGET);
  const names = Object.keys(CLASSES);
  const counts = [SHOTS, SHOTS + 1, SHOTS];
  for (const [host, state] of [["page", page], ["<magpie-trainer>", widget]]) {
    assert.deepEqual(state.labels, names, host);
    assert.deepEqual(state.counts, counts, `${host}: the core's counts (the corrected frame in "five")`);
    assert.deepEqual(state.shown, counts, `${host}: the counts shown`);
    assert.deepEqual(state.before, counts, `${host}: the engine's counts before the fault`);
    assert.deepEqual(state.engineCounts, counts, `${host}: the rebuilt engine's counts`);
    assert.deepEqual(state.engineLabels, names, host);
    assert.deepEqual(state.modelLabels, names, `${host}: the model knows the three classes`);
    assert.equal(state.trained, true, host);
    assert.equal(state.stale, false, host);
  }
  assert.deepEqual(widget, { ...page, predicted: widget.predicted }, "both hosts end in the same state");
  assert.deepEqual(page.predicted, widget.predicted, "both models name the held-out photos alike");
});
