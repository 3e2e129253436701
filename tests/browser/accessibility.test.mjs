// Accessibility, audited by axe-core (@axe-core/playwright) over each main state of the app
// (empty, recording, trained with results, live preview, and the phone viewport) and over the
// widgets' page (www/embed.html: <magpie-trainer> and <magpie-classifier>, into their shadow
// roots): no serious or critical violation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { ASSETS, fakeCamera, pressRecord, settled, untilReady, useBrowser } from "./harness.mjs";

const env = useBrowser();
const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const photos = (digit, n) => readdirSync(join(DATASET, digit)).sort().slice(0, n)
  .map((f) => `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}`);

/** Serious and critical violations on `page` now, one line each (rule, impact, first targets). */
async function audit(page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}

async function openApp(viewport) {
  const context = await env.browser.newContext({ viewport });
  await context.addInitScript(fakeCamera);
  const page = await context.newPage();
  await page.goto(`${env.url}?backbone=mobilenet_v1_025`);
  await untilReady(page);
  return { context, page };
}

test("the app: empty, recording, trained with results, live preview, and on a phone: no serious or critical axe violation", async () => {
  const { context, page } = await openApp({ width: 1280, height: 900 });
  const found = {};
  found.empty = await audit(page);
  await page.click("#camera-toggle");
  for (const [i, digit] of ["0", "5"].entries()) {
    await page.evaluate((urls) => window.__camera.show(urls), photos(digit, 8));
    await pressRecord(page, i, 6);
    if (i === 1) found.recording = await audit(page);
    await page.mouse.up();
  }
  await settled(page);
  await page.click("#train");
  await page.waitForFunction(() => /Training (done|stopped early)/.test(document.getElementById("status").textContent), null,
    { timeout: 300_000 });
  await page.waitForFunction(() => document.getElementById("prediction").textContent !== "", null, { timeout: 60_000 });
  found.trainedPreview = await audit(page);
  await context.close();
  const phone = await openApp({ width: 390, height: 844 });
  found.phone = await audit(phone.page);
  await phone.context.close();
  for (const [state, violations] of Object.entries(found)) assert.deepEqual(violations, [], state);
});

test("the widgets' page (<magpie-trainer>, <magpie-classifier>): no serious or critical axe violation", async () => {
  const context = await env.browser.newContext();
  await context.addInitScript(fakeCamera);
  const page = await context.newPage();
  await page.goto(`${env.url}www/embed.html`);
  await page.waitForFunction(() => /Hold a class/.test(document.getElementById("trainer").shadowRoot.querySelector(".status").textContent),
    null, { timeout: 120_000 });
  assert.deepEqual(await audit(page), []);
  await context.close();
});
