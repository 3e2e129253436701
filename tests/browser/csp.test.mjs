// The Content-Security-Policy of the app (index.html) and the embed page (www/embed.html): as
// served, it allows scripts from the page's own origin only, with 'wasm-unsafe-eval' for the
// wasm and neither inline script nor eval; no plugins; connections to the own origin only. The
// app runs a whole flow under it without one violation, and the policy is enforced: inline
// script, eval, inline handlers, style attributes and requests elsewhere are blocked and reported.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ASSETS, DIST, digitFiles, launch, serveFolders } from "./harness.mjs";

const env = {};

/** A module of the app's origin that tries what the policy forbids (code the page itself runs:
 * the test's own evaluation is exempt from the page's CSP). */
const PROBE = `
export async function run() {
  const thrown = (f) => { try { f(); return "ran"; } catch (e) { return e.name; } };
  const out = { eval: thrown(() => eval("1 + 1")), fn: thrown(() => new Function("return 1")) };
  setTimeout("window.__timer = true;", 0);
  const script = document.createElement("script");
  script.textContent = "window.__inline = true;";
  document.head.append(script);
  const button = document.createElement("button");
  button.setAttribute("onclick", "window.__handler = true;");
  document.body.append(button);
  button.click();
  button.setAttribute("style", "color: rgb(255, 0, 0)");
  out.styled = getComputedStyle(button).color === "rgb(255, 0, 0)";
  button.remove();
  script.remove();
  out.fetch = await fetch("https://example.com/").then(() => "fetched", (e) => e.name);
  await new Promise((r) => setTimeout(r, 200));
  out.ran = ["__timer", "__inline", "__handler"].filter((name) => window[name] === true);
  return out;
}`;

before(async () => {
  Object.assign(env, await serveFolders({ "/": DIST, "/__assets__/": ASSETS, "/__csp-probe__.js": { type: "text/javascript", body: PROBE } }));
  env.browser = await launch();
});
after(async () => {
  await env.browser?.close();
  env.server?.close();
});

/** The directives of the CSP meta tag of `html`: name → list of sources. */
function policyOf(html) {
  const metas = [...html.matchAll(/<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/gi)];
  assert.equal(metas.length, 1, "one CSP meta tag");
  return new Map(metas[0][1].split(";").map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...sources]) => [name, sources]));
}

/** An init script: every CSP violation the page reports, kept in `window.__violations`. */
function recordViolations() {
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample });
  }, true);
}

/** The app on the CPU backend, recording violations. */
async function openApp() {
  const context = await env.browser.newContext({ acceptDownloads: true });
  await context.addInitScript(recordViolations);
  await context.addInitScript(() => localStorage.setItem("magpie.backend", "cpu"));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
  await page.goto(`${env.url}?backbone=mobilenet_v1_025`);
  await page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 180_000 });
  return { context, page, errors };
}

for (const path of ["", "www/embed.html"]) {
  test(`the served CSP of /${path || "index.html"}: own-origin scripts and wasm only, no inline script or eval`, async () => {
    const html = await (await fetch(env.url + path)).text();
    const policy = policyOf(html);
    assert.deepEqual(policy.get("default-src"), ["'self'"]);
    assert.deepEqual([...policy.get("script-src")].sort(), ["'self'", "'wasm-unsafe-eval'"],
      "scripts: this origin and wasm compilation, nothing else ('unsafe-inline', 'unsafe-eval', hosts, wildcards)");
    assert.deepEqual(policy.get("object-src"), ["'none'"]);
    assert.deepEqual(policy.get("base-uri"), ["'self'"]);
    assert.deepEqual(policy.get("style-src"), ["'self'"], "no inline styles either");
    // The embed page hands the trained model to the classifier as a blob: URL made in the page.
    const connect = policy.get("connect-src");
    assert.ok(connect.includes("'self'") && connect.every((s) => ["'self'", "blob:"].includes(s)), `connect-src ${connect}`);
    // Every source is a keyword ('self', 'none', …) or a local scheme: no host, no wildcard.
    for (const [name, sources] of policy) {
      for (const source of sources) {
        assert.ok(/^'[a-z-]+'$/.test(source) || ["blob:", "mediastream:"].includes(source) || (source === "data:" && name === "img-src"),
          `${name} ${source}`);
      }
    }
    for (const directive of ["script-src-elem", "script-src-attr", "worker-src"]) {
      assert.ok(!policy.has(directive) || policy.get(directive).every((s) => ["'self'", "'none'"].includes(s)), directive);
    }
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/i, "every script is a file");
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, "no inline event handler");
  });
}

test("the app runs a whole flow under its CSP without one violation", async () => {
  const { context, page, errors } = await openApp();
  await page.click("#class-add");
  const cards = page.locator(".class-card");
  for (const [i, digit] of ["0", "5", "3"].entries()) {
    await cards.nth(i).locator(".class-name").fill(`digit ${digit}`);
    await cards.nth(i).locator(".class-name").press("Enter");
    await cards.nth(i).locator("input[type=file]").setInputFiles(digitFiles(digit, 6));
  }
  await page.waitForFunction(() => document.getElementById("train-hint").textContent === "Ready to train.", null, { timeout: 120_000 });
  await page.click("#train");
  await page.waitForFunction(() => /Training (done|stopped)/.test(document.getElementById("status").textContent), null, { timeout: 300_000 });
  await page.setInputFiles("#preview-file", digitFiles("5", 7)[6]);
  await page.waitForFunction(() => document.getElementById("stats").dataset.source !== undefined &&
    document.getElementById("stats").dataset.source !== "", null, { timeout: 60_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#model-export")]);
  assert.ok((await download.path()) !== null);
  // The bars are drawn with widths set through the CSSOM, which the policy allows.
  const widths = await page.$$eval("#scores .bar > span, #per-class .bar > span", (spans) => spans.map((s) => s.getBoundingClientRect().width));
  assert.ok(widths.length >= 6 && widths.some((w) => w > 0), `bars drawn: ${widths}`);
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the app's CSP is enforced: inline script, eval, inline handlers, style attributes and foreign requests are blocked", async () => {
  const { context, page, errors } = await openApp();
  const outcome = await page.evaluate(async () => {
    const out = await (await import("/__csp-probe__.js")).run();
    return { ...out, directives: window.__violations.map((v) => v.directive).sort() };
  });
  assert.deepEqual(outcome.ran, [], "no string timer, inline script or inline handler ran");
  assert.equal(outcome.eval, "EvalError");
  assert.equal(outcome.fn, "EvalError");
  assert.equal(outcome.styled, false, "style attribute not applied");
  assert.equal(outcome.fetch, "TypeError");
  assert.deepEqual(outcome.directives,
    ["connect-src", "script-src", "script-src", "script-src", "script-src-attr", "script-src-elem", "style-src-attr"]);
  assert.deepEqual(errors.filter((e) => !/Content Security Policy|Failed to fetch/.test(e)), []);
  await context.close();
});
