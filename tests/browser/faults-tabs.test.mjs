// Two tabs on the same project: the second tab is told the project is open elsewhere and saves
// nothing (the first tab's saves are never overwritten); it may take the project over, and then
// the first tab is told and stops saving. Two pages of one browser context share storage and
// Web Locks, as two tabs do.
import { test } from "node:test";
import assert from "node:assert/strict";
import { contextWith, fakeCamera, holdRecord, openIn, sampleCounts, settled, stored, useBrowser } from "./harness.mjs";

const env = useBrowser();
const lockNotice = (page) => page.locator('.notice[data-key="lock"]');

/** What IndexedDB holds of project `id`: its class names and sample count. */
async function savedProject(page, id) {
  const names = await page.evaluate((id) => new Promise((resolve) => {
    indexedDB.open("magpie").onsuccess = (e) => {
      e.target.result.transaction("projects").objectStore("projects").get(id).onsuccess = (r) =>
        resolve(r.target.result.classes.map((c) => c.name));
    };
  }), id);
  return { names, samples: (await stored(page)).samples[id] ?? 0 };
}

test("a project open in two tabs: the second is warned and saves nothing until it takes over", async () => {
  const context = await contextWith(env.browser, [[fakeCamera]]);
  const first = await openIn(context, env.url);
  await holdRecord(first.page, 0, 2);
  await settled(first.page);
  const id = await first.page.evaluate(() => window.magpie.app.project.id);
  const second = await openIn(context, env.url);
  assert.equal(await second.page.evaluate(() => window.magpie.app.project.id), id, "the second tab opened the same project");
  assert.match(await lockNotice(second.page).textContent(), /is open in another tab\. This tab does not save changes to it/);
  assert.equal(await lockNotice(first.page).count(), 0);
  // The second tab's changes stay in that tab; the first tab's go on being saved.
  await holdRecord(second.page, 1, 3);
  await settled(second.page);
  await second.page.locator(".class-name").first().fill("renamed in tab 2");
  await second.page.locator(".class-name").first().press("Enter");
  await holdRecord(first.page, 0, 4);
  await settled(first.page);
  const firstCounts = await sampleCounts(first.page);
  assert.deepEqual(await savedProject(first.page, id), { names: ["Class 1", "Class 2"], samples: firstCounts[0] + firstCounts[1] });
  // The second tab refuses to delete the project the first one is using.
  await second.page.click("#project-delete");
  assert.match(await second.page.textContent("#status"), /is open in another tab: delete it there, or choose “Take over” first/);
  assert.equal((await stored(first.page)).projects.length, 1);
  // Taking over: the second tab opens the saved project (the first tab's work) and saves from now on.
  await lockNotice(second.page).getByRole("button", { name: "Take over" }).click();
  await second.page.waitForFunction(() => !document.querySelector('.notice[data-key="lock"]'));
  await second.page.waitForFunction(() => /ready on/.test(document.getElementById("status").textContent), null, { timeout: 120_000 });
  assert.deepEqual(await sampleCounts(second.page), firstCounts);
  await first.page.waitForFunction(() => /Another tab took over/.test(document.querySelector('.notice[data-key="lock"]')?.textContent));
  assert.match(await first.page.textContent("#status"), /this tab no longer saves it/);
  await holdRecord(first.page, 1, 2);
  await settled(first.page);
  await holdRecord(second.page, 1, 1);
  await settled(second.page);
  const secondCounts = await sampleCounts(second.page);
  assert.deepEqual(await savedProject(second.page, id), { names: ["Class 1", "Class 2"], samples: secondCounts[0] + secondCounts[1] });
  assert.deepEqual([...first.errors, ...second.errors], []);
  await context.close();
});
