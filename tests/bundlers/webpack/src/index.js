// A webpack 5 app using the packed magpie-classifier as a user would: the widgets from the
// entry point, the engine's API from `magpie-classifier/api`, no configuration for it. Run by
// tests/browser/bundlers.test.mjs, which reads what happened from `window.seen`.
import "magpie-classifier";
import { api } from "magpie-classifier/api";

const seen = (window.seen = []);
const classifier = document.querySelector("magpie-classifier");
const trainer = document.querySelector("magpie-trainer");

classifier.addEventListener("ready", (e) => seen.push({ event: "classifier ready", detail: e.detail.labels }));
classifier.addEventListener("prediction", (e) => seen.push({ event: "prediction", detail: { label: e.detail.label, probability: e.detail.probability } }));
trainer.addEventListener("ready", () => seen.push({ event: "trainer ready", detail: null }));
for (const widget of [classifier, trainer]) widget.addEventListener("error", (e) => seen.push({ event: "error", detail: e.detail.message }));

/** The top ImageNet class of the image at `url`, through the API, on EfficientNet-Lite0. */
window.imagenet = async (url) => {
  const image = new Image();
  image.src = url;
  await image.decode();
  const model = await api.ImageNetModel.create({ backbone: "efficientnet_lite0" });
  const [top] = await model.classify(image, 1);
  model.free();
  return top.label;
};
