// The in-page half of the TF.js comparison (driven by bench/tfjs.mjs): each function runs one
// measurement of ours (the magpie JS API from dist/) or of TensorFlow.js (from npm, with its
// WebGPU and wasm backends; loaded only when measured) and resolves to plain numbers.
import init, { FewShotSession, ImageNetModel } from "/magpie.js";

const TFJS_MODEL = "/__assets__/models/tfjs_mobilenet_v1_0.25_224/model.json";
const TFLITE_MODEL = "/__assets__/models/tf2_mobilenet_v2_1.0_224_ptq.tflite";
/** The layer the TF.js transfer-learning demo cuts MobileNetV1 at (then global average pooling). */
const CUT = "conv_pw_13_relu";

/** `urls` decoded and drawn at 224 × 224, as ImageData (the same inputs for both). */
async function frames(urls) {
  return Promise.all(urls.map(async (url) => {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = new OffscreenCanvas(224, 224);
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0, 224, 224);
    return context.getImageData(0, 0, 224, 224);
  }));
}

/** Median, 90th percentile and mean of `values`. */
function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p90: at(0.9), mean: values.reduce((a, b) => a + b, 0) / values.length, runs: values.length, times: values };
}

/** Warm-up before timing: at least this long (V8 tiers wasm up from its baseline compiler to
 * TurboFan in the background during the first ~0.5 s of use) and at least 3 runs. */
const WARMUP_MS = 1000;

/** Times `run` (one batch) `iterations` times after the warm-up; per-frame milliseconds. */
async function time(run, batch, frameCount, warmup = 3) {
  const start = performance.now();
  for (let i = 0; i < warmup || performance.now() - start < WARMUP_MS; i += 1) await run();
  const times = [];
  for (let i = 0; i < Math.ceil(frameCount / batch); i += 1) {
    const start = performance.now();
    await run();
    times.push((performance.now() - start) / batch);
  }
  return stats(times);
}

/** Loads TF.js and its WebGPU and wasm backends (the global `tf`). */
async function loadTf() {
  for (const src of ["tfjs/dist/tf.min.js", "tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js", "tfjs-backend-wasm/dist/tf-backend-wasm.min.js"]) {
    await new Promise((resolve, reject) => {
      document.head.append(Object.assign(document.createElement("script"), { src: `/tfjs/${src}`, onload: resolve, onerror: reject }));
    });
  }
}

/** TF.js on `backend` ("webgpu" | "webgl" | "wasm" | "cpu"). */
async function tfBackend(backend) {
  if (!window.tf) await loadTf();
  if (backend === "wasm") tf.wasm.setWasmPaths("/tfjs/tfjs-backend-wasm/dist/");
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} is unavailable`);
  await tf.ready();
}

/** Input scaling (`x * scale + offset`) of each model: the TF.js demo's MobileNetV1 as the app
 * preprocesses; the layers models of our records (examples/tfjs_layers.rs) as Teachable Machine
 * feeds its models, which their first layer turns into the backbone's own normalization. */
const SCALING = { mobilenet_v1_025: [1 / 127.5, -1], mobilenet_v2: [1 / 127, -1], efficientnet_lite0: [1 / 127, -1] };

/** TF.js on the same network as ours: images → [N, D]. MobileNetV1 0.25 is the TF.js demo's own
 * model cut at its layer; MobileNetV2 and EfficientNet-Lite0 are layers models written from our
 * f32 records (examples/tfjs_layers.rs), already pooled. */
async function tfjsExtractor(backbone) {
  let model;
  if (backbone === "mobilenet_v1_025") {
    const base = await tf.loadLayersModel(TFJS_MODEL);
    model = tf.model({ inputs: base.inputs, outputs: base.getLayer(CUT).output });
  } else {
    model = await tf.loadLayersModel(`/bench-data/tfjs-layers/${backbone}/model.json`);
  }
  const [scale, offset] = SCALING[backbone];
  return async (images) => {
    const pooled = tf.tidy(() => {
      const pixels = tf.stack(images.map((image) => tf.browser.fromPixels(image)));
      const out = model.predict(pixels.toFloat().mul(scale).add(offset));
      return out.shape.length === 4 ? out.mean([1, 2]) : out;
    });
    const values = await pooled.data();
    pooled.dispose();
    return values;
  };
}

/** LiteRT (tfjs-tflite: TF-Lite's XNNPACK in wasm, single-threaded) on the .tflite file our
 * MobileNetV2 record was imported from: images → its 1001 outputs. */
async function tfliteExtractor() {
  if (!window.tf) await loadTf();
  if (!window.tflite) {
    await new Promise((resolve, reject) => {
      document.head.append(Object.assign(document.createElement("script"), { src: "/tflite/dist/tf-tflite.min.js", onload: resolve, onerror: reject }));
    });
    tflite.setWasmPath("/tflite/wasm/");
  }
  await tf.setBackend("cpu");
  const model = await tflite.loadTFLiteModel(TFLITE_MODEL, { numThreads: 1 });
  const [input] = model.inputs;
  return async (images) => {
    const outputs = [];
    for (const image of images) {
      const result = tf.tidy(() => {
        const pixels = tf.browser.fromPixels(image).expandDims(0);
        // A float input takes the MobileNet scaling; a quantized one takes the pixels as its
        // quantization maps them (uint8 as is, int8 shifted by 128).
        const x = input.dtype === "float32" ? pixels.toFloat().div(127.5).sub(1)
          : input.dtype === "int8" ? pixels.toInt().sub(128) : pixels.toInt();
        return model.predict(x);
      });
      outputs.push(await result.data());
      result.dispose();
    }
    return outputs[0];
  };
}

/** The app's weight folder (this page is not at the site's root). */
const WEIGHTS = "/www/weights/";

/** URL of the record the app serves for `backbone`. */
async function weightsUrl(backbone) {
  const index = await (await fetch(`${WEIGHTS}index.json`)).json();
  return WEIGHTS + index.find((w) => w.id === backbone).file;
}

/** Our backbone `backbone` on `backend` ("wgpu" | "cpu"): images → [N, D]. */
async function oursExtractor(backbone, backend) {
  await init();
  const model = await ImageNetModel.create({ backbone, backend, weightsUrl: await weightsUrl(backbone) });
  return async (images) => (images.length === 1 ? model.features(images[0]) : model.featuresBatch(images));
}

/** Largest |a - b| over the largest |b|. */
function relativeDifference(a, b) {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i += 1) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** f32 values as f16 bits (round to nearest even), for stored embeddings. */
function toF16(values) {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i += 1) {
    f32[0] = values[i];
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    let exponent = ((x >>> 23) & 0xff) - 127 + 15;
    let mantissa = x & 0x7fffff;
    if (exponent <= 0) {
      out[i] = sign;
    } else if (exponent >= 31) {
      out[i] = sign | 0x7c00;
    } else {
      const round = (mantissa & 0x1fff) > 0x1000 || ((mantissa & 0x1fff) === 0x1000 && (mantissa & 0x2000));
      let bits = (exponent << 10) | (mantissa >>> 13);
      if (round) bits += 1;
      out[i] = sign | bits;
    }
  }
  return out;
}

/** Memory now: JS heap and wasm linear memory, in bytes. */
function memory(wasm) {
  return { jsHeap: performance.memory?.usedJSHeapSize ?? null, wasm: wasm.memory.buffer.byteLength };
}

window.bench = {
  /** Feature extraction per frame: `{ impl: "ours" | "tfjs" | "tflite", backbone, backend, batch,
   * frames, photos }`. */
  async features({ impl, backbone, backend, batch, frames: frameCount, photos }) {
    const images = await frames(photos);
    const extract = impl === "ours" ? await oursExtractor(backbone, backend)
      : impl === "tflite" ? await tfliteExtractor()
        : (await tfBackend(backend), await tfjsExtractor(backbone));
    const inputs = images.slice(0, batch);
    const timing = await time(() => extract(inputs), batch, frameCount);
    return { ...timing, first: Array.from((await extract([images[0]])).slice(0, 256)) };
  },

  /** Features of the same photo by both, compared (the same network?), ours from the f32
   * record (the served one is f16). */
  async agreement({ backbone, photos, oursBackend, tfjsBackend }) {
    const [image] = await frames(photos.slice(0, 1));
    await init();
    const model = await ImageNetModel.create({ backbone, backend: oursBackend, weightsUrl: `${WEIGHTS}${backbone}.bpk` });
    const ours = await model.features(image);
    await tfBackend(tfjsBackend);
    const theirs = await (await tfjsExtractor(backbone))([image]);
    return { relativeDifference: relativeDifference(ours, theirs), dim: ours.length };
  },

  /** Head training, Teachable Machine's head (Dense(100, relu) → Dense(C)), Adam 1e-3, batch 16,
   * `epochs` epochs, on `embeddings` ({ dim, rows: [{ label, features }] }), no validation split. */
  async head({ impl, backend, epochs, embeddings }) {
    const labels = [...new Set(embeddings.rows.map((r) => r.label))];
    if (impl === "tfjs") {
      await tfBackend(backend);
      const xs = tf.tensor2d(embeddings.rows.map((r) => r.features));
      const ys = tf.oneHot(tf.tensor1d(embeddings.rows.map((r) => labels.indexOf(r.label)), "int32"), labels.length);
      const model = tf.sequential({ layers: [
        tf.layers.dense({ inputShape: [embeddings.dim], units: 100, activation: "relu" }),
        tf.layers.dense({ units: labels.length, activation: "softmax" }),
      ] });
      model.compile({ optimizer: tf.train.adam(1e-3), loss: "categoricalCrossentropy", metrics: ["accuracy"] });
      const start = performance.now();
      const history = await model.fit(xs, ys, { epochs, batchSize: 16, shuffle: true, verbose: 0 });
      const ms = performance.now() - start;
      return { ms, accuracy: history.history.acc.at(-1) };
    }
    const wasm = await init();
    // TF.js trains on the pooled embedding: so does ours here, like for like.
    const session = await FewShotSession.create({
      backbone: embeddings.backbone, backend: "cpu", headBackend: backend, weightsBase: WEIGHTS, features: "pooled",
    });
    // Stored embeddings go in as an app restores them: rows with the session's key, next to a
    // placeholder frame (never embedded: training below uses no augmented views).
    const frame = new ImageData(8, 8);
    const probe = await session.addSample("probe", frame);
    const { key, rows: probeRows } = session.sampleEmbedding(probe);
    session.removeClass(0);
    const views = probeRows.length / embeddings.dim;
    for (const [i, row] of embeddings.rows.entries()) {
      const bits = toF16(row.features);
      const rows = new Uint16Array(bits.length * views);
      for (let v = 0; v < views; v += 1) rows.set(bits, v * bits.length);
      await session.addSample(row.label, frame, { id: `e${i}`, embedding: { key, shape: [embeddings.dim], rows } });
    }
    const summary = await session.train({
      head: { kind: "mlp", hidden: 100 }, features: "pooled", epochs, batchSize: 16, learningRate: 1e-3, validationFraction: 0,
      augment: { views: 0 }, seed: 0,
    });
    return { ms: summary.elapsedMs, accuracy: summary.history.at(-1).accuracy, epochs: summary.history.length, memory: memory(wasm) };
  },

  /** Page ready → model ready → first prediction, from navigation start. */
  async coldStart({ impl, backend, photos }) {
    const [image] = await frames(photos.slice(0, 1));
    const extract = impl === "ours" ? await oursExtractor("mobilenet_v1_025", backend) : (await tfBackend(backend), await tfjsExtractor("mobilenet_v1_025"));
    const ready = performance.now();
    await extract([image]);
    return { readyMs: ready, firstPredictionMs: performance.now() };
  },

  /** Memory after adding `counts` samples to a session as the app does (each a JPEG file of a
   * `side` px capture of `photo`, with a stored embedding, so no backbone pass):
   * `[{ samples, views, cachedBytes, jsHeap, wasm }]`, or where it failed. */
  async memory({ counts, side, photo }) {
    const wasm = await init();
    const session = await FewShotSession.create({ backbone: "mobilenet_v2", backend: "cpu", headBackend: "cpu", weightsBase: WEIGHTS });
    const canvas = new OffscreenCanvas(side, side);
    canvas.getContext("2d").drawImage(await createImageBitmap(await (await fetch(photo)).blob()), 0, 0, side, side);
    const jpeg = await (await canvas.convertToBlob({ type: "image/jpeg", quality: 0.9 })).arrayBuffer();
    const capture = () => new Blob([jpeg], { type: "image/jpeg" });
    const probe = await session.addSample("probe", capture());
    const { key, shape, rows } = session.sampleEmbedding(probe);
    const kept = () => {
      const { cachedViews: views, cachedBytes } = session.info();
      return { views, cachedBytes };
    };
    const results = [{ samples: 1, ...kept(), ...memory(wasm) }];
    let added = 1;
    try {
      for (const target of counts) {
        for (; added < target; added += 1) {
          await session.addSample(`class ${added % 10}`, capture(), { embedding: { key, shape, rows } });
        }
        results.push({ samples: added, ...kept(), ...memory(wasm) });
      }
    } catch (error) {
      results.push({ samples: added, failed: String(error?.message ?? error), ...memory(wasm) });
    }
    return results;
  },
};
window.benchReady = true;
