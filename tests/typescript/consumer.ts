// A TypeScript consumer of the package: type-checked (`tsc --noEmit`) against the generated
// `magpie.d.ts` and `www/widgets.d.ts` by tests/browser/widget.test.mjs. Never run.
import {
  api, onFault, type FewShotSession, type ImageNetModel,
  type LoadedProject, type MagpieClassifier, type MagpieTrainer, type PredictionDetail,
} from "magpie-classifier";

export async function consume(video: HTMLVideoElement, image: HTMLImageElement, bitmap: ImageBitmap, data: ImageData): Promise<void> {
  onFault((message: string) => console.log(message));
  const ids: string[] = await api.backbones();
  const session: FewShotSession = await api.FewShotSession.create({ backbone: ids[0], backend: "auto", headBackend: "cpu" });
  const index: number = await session.addClass("fist");
  await session.renameClass(index, "thumbs up");
  await session.moveClass(0, 0);
  const id: string = await session.addSample("thumbs up", video, { id: "s1" });
  await session.addSample("nothing", image, undefined);
  await session.addSample("nothing", bitmap, undefined);
  await session.addSample("nothing", data, undefined);
  await session.sampleEmbedding(id);
  await session.relabelSample(id, "nothing");
  const removed: boolean = await session.removeSample(id);
  await session.clearClass(1);
  const info = session.info();
  const summary = await session.train({ epochs: 10 }, (report: unknown) => console.log(report, removed));
  session.cancel();
  await session.predict(video);
  const live = await session.predict(video, { embedding: true });
  const unsure: boolean = live.unsure;
  if (live.embedding) await session.addSample("nothing", video, { embedding: live.embedding });
  await session.setThreshold(unsure ? 0.9 : live.threshold);
  await session.evaluate();
  const model: Uint8Array = await session.save();
  await session.load(model);
  await session.load("model.bpk");
  const project: Uint8Array = await session.saveProject({ name: "gestures", imageType: "image/png" });
  await session.loadProject(project);
  const { manifest, files } = await api.readProject(project);
  const written: Uint8Array = await api.writeProject(manifest, files);
  const folders: string[] = await api.classFolders(["a/b", "a/b"]);
  await session.removeClass(0);
  session.dispose();
  console.log(info, written.length);
  const imagenet: ImageNetModel = await api.ImageNetModel.create({ backbone: "mobilenet_v1_025" });
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
