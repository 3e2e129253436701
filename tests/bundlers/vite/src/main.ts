// A Vite app using the packed magpie-classifier as a user would: the widgets from the entry
// point, the engine's API from `magpie-classifier/api`, no configuration. Type-checked with
// `tsc --noEmit` (strict) against the installed package's types, and run by
// tests/browser/bundlers.test.mjs, which reads what happened from `window.seen`.
import "magpie-classifier";
import type { PredictionDetail } from "magpie-classifier";
import { api, type ImageNetModel } from "magpie-classifier/api";

/** What the widgets and the API did, in order. */
type Seen = { event: string; detail: unknown }[];

declare global {
  interface Window {
    seen: Seen;
    /** The top ImageNet class of the image at `url`, through the API, on EfficientNet-Lite0. */
    imagenet(url: string): Promise<string>;
  }
}

const seen: Seen = (window.seen = []);
const classifier = document.querySelector("magpie-classifier")!;
const trainer = document.querySelector("magpie-trainer")!;

classifier.addEventListener("ready", (e) => seen.push({ event: "classifier ready", detail: e.detail.labels }));
classifier.addEventListener("prediction", (e) => {
  const { label, probability }: PredictionDetail = e.detail;
  seen.push({ event: "prediction", detail: { label, probability } });
});
trainer.addEventListener("ready", () => seen.push({ event: "trainer ready", detail: null }));
classifier.addEventListener("error", (e) => seen.push({ event: "error", detail: e.detail.message }));
trainer.addEventListener("error", (e) => seen.push({ event: "error", detail: e.detail.message }));

window.imagenet = async (url) => {
  const image = new Image();
  image.src = url;
  await image.decode();
  const model: ImageNetModel = await api.ImageNetModel.create({ backbone: "efficientnet_lite0" });
  const [top] = await model.classify(image, 1);
  model.free();
  return top.label;
};
