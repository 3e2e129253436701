// Training settings as the page shows them (flat, with defaults and limits), and their
// translation into the JS API's `train` options.

/** Every setting's default. */
export const DEFAULTS = Object.freeze({
  head: "mlp", features: "spatial", epochs: 100, batchSize: 16, learningRate: 0.001, hidden: 100, k: 3, views: 4, finetuneBlocks: 0,
});

/** Limits of the numeric settings. */
export const LIMITS = Object.freeze({
  epochs: [1, 1000], batchSize: [1, 512], learningRate: [1e-6, 1], hidden: [1, 4096], k: [1, 50], views: [0, 16],
  finetuneBlocks: [0, 8],
});

/** `settings` with unknown keys dropped, bad values replaced by defaults, numbers clamped. */
export function clean(settings = {}) {
  const out = { ...DEFAULTS };
  if (["linear", "mlp", "knn"].includes(settings.head)) out.head = settings.head;
  if (["spatial", "pooled"].includes(settings.features)) out.features = settings.features;
  for (const [key, [min, max]] of Object.entries(LIMITS)) {
    const value = Number(settings[key]);
    if (Number.isFinite(value)) out[key] = Math.min(max, Math.max(min, key === "learningRate" ? value : Math.round(value)));
  }
  return out;
}

/** The `train` options of the JS API for these settings. */
export function trainOptions(settings) {
  const s = clean(settings);
  return {
    head: { kind: s.head, hidden: s.hidden, k: s.k },
    features: s.features,
    epochs: s.epochs,
    batchSize: s.batchSize,
    learningRate: s.learningRate,
    augment: { views: s.views },
    finetuneBlocks: s.head === "knn" ? 0 : s.finetuneBlocks,
  };
}
