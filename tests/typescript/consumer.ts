// A TypeScript consumer of the package: type-checked (`tsc --noEmit`) against the generated
// `magpie.d.ts` and `www/widgets.d.ts` by tests/browser/widget.test.mjs. Never run.
import {
  FewShotSession, ImageNetModel, backbones, classFolders, init, readProject, writeProject,
  type LoadedProject, type MagpieClassifier, type MagpieTrainer, type PredictionDetail,
} from "magpie-classifier";

export async function consume(video: HTMLVideoElement, image: HTMLImageElement, bitmap: ImageBitmap, data: ImageData): Promise<void> {
  await init();
  const ids: string[] = backbones();
  const session: FewShotSession = await FewShotSession.create({ backbone: ids[0], backend: "auto", headBackend: "cpu" });
  const index: number = session.addClass("fist");
  session.renameClass(index, "thumbs up");
  session.moveClass(0, 0);
  const id: string = await session.addExample("thumbs up", video, { id: "s1" });
  await session.addExample("nothing", image, undefined);
  await session.addExample("nothing", bitmap, undefined);
  await session.addExample("nothing", data, undefined);
  session.exampleEmbedding(id);
  session.relabelExample(id, "nothing");
  const removed: boolean = session.removeExample(id);
  session.clearClass(1);
  const summary = await session.train({ epochs: 10 }, (report: unknown) => console.log(report, removed));
  session.cancel();
  await session.predict(video);
  await session.evaluate();
  const model: Uint8Array = await session.save();
  await session.load(model);
  await session.load("model.bpk");
  const project: Uint8Array = await session.saveProject({ name: "gestures", imageType: "image/png" });
  await session.loadProject(project);
  const { manifest, files } = readProject(project);
  writeProject(manifest, files);
  const folders: string[] = classFolders(["a/b", "a/b"]);
  session.removeClass(0);
  session.dispose();
  const imagenet: ImageNetModel = await ImageNetModel.create({ backbone: "mobilenet_v1_025" });
  await imagenet.classify(image, 5);
  const features: Float32Array = await imagenet.features(image);
  console.log(summary, folders, features.length);

  const classifier: MagpieClassifier = document.createElement("magpie-classifier");
  const labels: string[] = classifier.labels;
  const predicted: PredictionDetail = await classifier.predict(image);
  classifier.addEventListener("prediction", (event) => console.log(event.detail.label, event.detail.probability, labels));
  classifier.stop();
  console.log(predicted.scores[0].class);

  const trainer: MagpieTrainer = document.createElement("magpie-trainer");
  trainer.addEventListener("model", (event) => classifier.setAttribute("model", String(event.detail.bytes.length)));
  trainer.addEventListener("progress", (event) => console.log(event.detail.epoch, event.detail.valAccuracy ?? 0));
  const saved: Uint8Array = await trainer.saveProject({ name: "mine" });
  const loaded: LoadedProject = await trainer.loadProject(saved);
  console.log(loaded.labels, loaded.counts, await trainer.save());
}
