// The engine's embedding pool computes augmented views too: a session's views computed across the
// pool's engines and its own are the rows the session computes alone, bit for bit, and training
// finds none missing. The pool is made two engines large (the page is told of three cores).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ASSETS, DIST, launch, serveFolders } from "./harness.mjs";

const DATASET = join(ASSETS, "datasets/sign-language-digits/Dataset");
const env = {};
before(async () => {
  Object.assign(env, await serveFolders({
    "/": DIST, "/__assets__/": ASSETS,
    "/pool.html": { type: "text/html", body: "<!doctype html><meta charset=utf-8><title>pool</title><link rel=icon href=data:,>" },
  }));
  env.browser = await launch();
});
after(async () => {
  await env.browser?.close();
  env.server?.close();
});

const photos = ["2", "6"].flatMap((digit) => readdirSync(join(DATASET, digit)).sort().slice(0, 3)
  .map((f) => ({ label: `digit ${digit}`, url: `/__assets__/datasets/sign-language-digits/Dataset/${digit}/${f}` })));

test("views embedded across the pool equal the session's own, bit for bit", async () => {
  const context = await env.browser.newContext();
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "hardwareConcurrency", { get: () => 3 }));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(`${env.url}pool.html`);
  const result = await page.evaluate(async (photos) => {
    const { api, client } = await import("/www/engine/client.js");
    const options = { backbone: "mobilenet_v1_025", backend: "cpu", headBackend: "cpu", weightsBase: "/www/weights/" };
    const [pooled, alone] = [await api.FewShotSession.create(options), await api.FewShotSession.create(options)];
    const ids = { pooled: [], alone: [] };
    for (const { label, url } of photos) {
      const blob = await (await fetch(url)).blob();
      ids.pooled.push(await pooled.addSample(label, blob));
      ids.alone.push(await alone.addSample(label, blob));
    }
    const before = (await pooled.sampleEmbedding(ids.pooled[0])).rows.length;
    // Which samples' views the pool's engines computed.
    const inPool = [];
    const call = client.pool.call.bind(client.pool);
    client.pool.call = (options, method, args) => {
      if (method === "embedSampleViews") inPool.push(args[1].index);
      return call(options, method, args);
    };
    const rounds = [];
    for (let left = -1; left !== 0;) rounds.push(left = await pooled.embedViews(4));
    while (await alone.call("embedViews", [100]) > 0);
    const same = [];
    let rows = 0;
    for (let i = 0; i < photos.length; i += 1) {
      const [a, b] = [await pooled.sampleEmbedding(ids.pooled[i]), await alone.sampleEmbedding(ids.alone[i])];
      rows = a.rows.length / a.shape.reduce((x, y) => x * y, 1);
      same.push(a.key === b.key && a.rows.length === b.rows.length && a.rows.every((v, j) => v === b.rows[j]));
    }
    const summary = await pooled.train({ epochs: 5 });
    return { same, rows, before, rounds, inPool, members: client.pool.members.length, views: summary.views };
  }, photos);
  assert.equal(result.members, 2, "a pool of two engines");
  assert.ok(result.before > 0);
  assert.deepEqual(result.rounds, [2, 0], "four samples a call: two left, then none");
  assert.equal(result.rows, 2, "the frame and its view (the default settings ask for one)");
  assert.ok(result.inPool.length >= 2 && result.inPool.length < photos.length,
    `the pool's engines computed some samples' views, the session the others: ${result.inPool}`);
  assert.deepEqual(result.same, photos.map(() => true));
  assert.equal(result.views, 1);
  assert.deepEqual(errors, []);
  await context.close();
});
