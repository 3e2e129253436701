//! `FewShotSession`: the JS API of the few-shot flow. Samples are kept as raw frames (nothing
//! the user captured is lost when settings change) and embedded once when added; `train` runs
//! on the cached embeddings, re-embedding from the frames only when augmentation or fine-tuning
//! settings change.

use std::cell::RefCell;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::{Backends, fetch, js_error, options, parse_backbone, weights_url};
use crate::augment::AugmentConfig;
use crate::backbone::BackboneKind;
use crate::classifier::{self, Classifier};
use crate::dataset::{Dataset, Sample};
use crate::device::BackendKind;
use crate::image::{RgbaImage, RgbaView};
use crate::training::{
    CancelToken, Embedder, EmbeddingCache, EpochReport, Entry, Evaluation, Job, StageTimes, StopReason, TrainConfig,
    fit_cached, measure_stages,
};
use crate::weights::PretrainedBackbone;

/// Options of [`FewShotSession::create`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SessionOptions {
    backbone: Option<String>,
    /// Backbone stage: `"auto"` (measured), `"wgpu"` or `"cpu"`.
    backend: Option<String>,
    /// Head stage: `"auto"` (measured), `"wgpu"` or `"cpu"`.
    head_backend: Option<String>,
    weights_url: Option<String>,
}

/// What `train` resolves to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TrainSummary {
    history: Vec<EpochReport>,
    stop: StopReason,
    batches: usize,
    validation: Option<Evaluation>,
    elapsed_ms: f64,
}

/// Where the stages run, and why.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Placement {
    backbone: BackendKind,
    head: BackendKind,
    /// Measurements behind an `"auto"` choice, per backend.
    measured: Vec<(BackendKind, StageTimes)>,
    fallback_reason: Option<String>,
}

/// The user's classes and samples, and their cached embeddings.
struct Samples {
    dataset: Dataset,
    next_id: u64,
    cache: EmbeddingCache,
    /// The augmentation and fine-tune depth the cache was computed with.
    cached_with: (AugmentConfig, usize),
}

/// A few-shot classifier being built in the page: classes, captured samples, training, and
/// live prediction. Every method takes `&self`, so `cancel`, `predict` and `info` work while
/// `train` or `addSample` is running; changing the samples during training is refused.
#[wasm_bindgen]
pub struct FewShotSession {
    model: PretrainedBackbone,
    backbone_device: Device,
    head_device: Device,
    placement: Placement,
    samples: RefCell<Samples>,
    classifier: RefCell<Option<Classifier>>,
    cancel: CancelToken,
}

const BUSY: &str = "the session is busy training or adding a sample: wait for it, or cancel training";

fn parse_backend(value: Option<&str>) -> Result<Option<BackendKind>, JsError> {
    match value.unwrap_or("auto") {
        "auto" => Ok(None),
        other => other.parse().map(Some).map_err(js_error),
    }
}

#[wasm_bindgen]
impl FewShotSession {
    /// Loads a backbone and picks devices: `{ backbone?, backend?, headBackend?, weightsUrl? }`
    /// (backends `"auto" | "wgpu" | "cpu"`; `"auto"` measures both and takes the faster).
    pub async fn create(options_value: JsValue) -> Result<FewShotSession, JsError> {
        let options: SessionOptions = options(options_value)?;
        let kind: BackboneKind = options.backbone.as_deref().unwrap_or("mobilenet_v2").parse().map_err(js_error)?;
        let backends = Backends::available().await;
        let config = TrainConfig::default();
        let mut measured = Vec::new();
        let url = weights_url(kind, options.weights_url.as_deref());
        let bytes = fetch::bytes(&url).await.map_err(js_error)?;
        let mut models = Vec::new();
        for backend in backends.kinds() {
            let device = backends.device(backend).map_err(js_error)?;
            let model = parse_backbone(kind, &url, bytes.clone(), &device)?;
            models.push((backend, device, model));
        }
        let choose = |requested: Option<BackendKind>, pick: &dyn Fn(&StageTimes) -> f64, measured: &[(BackendKind, StageTimes)]| {
            requested.filter(|b| backends.kinds().contains(b)).unwrap_or_else(|| {
                measured
                    .iter()
                    .min_by(|a, b| pick(&a.1).total_cmp(&pick(&b.1)))
                    .map_or(BackendKind::Cpu, |m| m.0)
            })
        };
        let wanted = (parse_backend(options.backend.as_deref())?, parse_backend(options.head_backend.as_deref())?);
        if let (Some(b), _) | (_, Some(b)) = wanted {
            if !backends.kinds().contains(&b) {
                return Err(js_error(format!("backend {b} is not available: {}", backends.reason().unwrap_or_default())));
            }
        }
        if models.len() > 1 && (wanted.0.is_none() || wanted.1.is_none()) {
            for (backend, device, model) in &models {
                let times = measure_stages(&model.backbone, &config, 2, device).await.map_err(js_error)?;
                measured.push((*backend, times));
            }
        }
        let backbone_kind = choose(wanted.0, &|t| t.backbone_ms, &measured);
        let head_kind = choose(wanted.1, &|t| t.head_step_ms, &measured);
        let (_, backbone_device, model) =
            models.into_iter().find(|m| m.0 == backbone_kind).ok_or_else(|| js_error("no device"))?;
        let head_device = backends.device(head_kind).map_err(js_error)?;
        let placement = Placement { backbone: backbone_kind, head: head_kind, measured, fallback_reason: backends.reason() };
        Ok(FewShotSession {
            model,
            backbone_device,
            head_device,
            placement,
            samples: RefCell::new(Samples {
                dataset: Dataset::default(),
                next_id: 0,
                cache: EmbeddingCache::default(),
                cached_with: (config.augment.clone(), 0),
            }),
            classifier: RefCell::new(None),
            cancel: CancelToken::default(),
        })
    }

    /// `{ backbone, featureDim, placement: { backbone, head, measured, fallbackReason }, labels,
    /// counts, cachedBytes, trained, busy }` (labels and counts are empty while busy).
    pub fn info(&self) -> Result<JsValue, JsError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Info<'a> {
            backbone: BackboneKind,
            feature_dim: usize,
            placement: &'a Placement,
            labels: &'a [String],
            counts: Vec<usize>,
            cached_bytes: usize,
            trained: bool,
            busy: bool,
        }
        let samples = self.samples.try_borrow().ok();
        let empty = Vec::new();
        let info = Info {
            backbone: self.model.backbone.kind,
            feature_dim: self.model.backbone.kind.feature_dim(),
            placement: &self.placement,
            labels: samples.as_ref().map_or(&empty, |s| &s.dataset.labels),
            counts: samples.as_ref().map_or_else(Vec::new, |s| s.dataset.class_counts()),
            cached_bytes: samples.as_ref().map_or(0, |s| s.cache.bytes()),
            trained: self.classifier.try_borrow().map_or(true, |c| c.is_some()),
            busy: samples.is_none(),
        };
        serde_wasm_bindgen::to_value(&info).map_err(js_error)
    }

    /// Adds a class (or returns the index of an existing one with that name).
    #[wasm_bindgen(js_name = addClass)]
    pub fn add_class(&self, name: String) -> Result<usize, JsError> {
        let mut samples = self.samples.try_borrow_mut().map_err(|_| js_error(BUSY))?;
        samples.add_class(name)
    }

    /// Captures an RGBA frame as an example of `label` (created if new); embeds it (and its
    /// augmented views) now. Resolves to the sample's id.
    #[wasm_bindgen(js_name = addSample)]
    pub async fn add_sample(&self, label: String, width: usize, height: usize, pixels: Vec<u8>) -> Result<String, JsError> {
        RgbaView::new(width, height, &pixels).map_err(js_error)?;
        let mut guard = self.samples.try_borrow_mut().map_err(|_| js_error(BUSY))?;
        let samples = &mut *guard;
        let class = samples.add_class(label)?;
        let id = format!("s{}", samples.next_id);
        samples.next_id += 1;
        let sample = samples.dataset.samples.len();
        let image = RgbaImage { width, height, pixels };
        let (augment, tail_blocks) = samples.cached_with.clone();
        let job = Job { image: image.view(), entry: Entry { sample, class, view: 0 }, views: augment.views };
        let embedder = Embedder { backbone: &self.model.backbone, tail_blocks, device: &self.backbone_device };
        embedder.embed(&[job], &augment, 0, &mut samples.cache, &CancelToken::default()).await.map_err(js_error)?;
        samples.dataset.samples.push(Sample { id: id.clone(), class, image });
        Ok(id)
    }

    /// Removes a sample by id; false if there was none.
    #[wasm_bindgen(js_name = removeSample)]
    pub fn remove_sample(&self, id: &str) -> Result<bool, JsError> {
        let mut samples = self.samples.try_borrow_mut().map_err(|_| js_error(BUSY))?;
        let Some(index) = samples.dataset.samples.iter().position(|s| s.id == id) else { return Ok(false) };
        samples.dataset.samples.remove(index);
        samples.cache.remove_sample(index);
        Ok(true)
    }

    /// Trains with `config` (a partial `TrainConfig`: `{ head: { kind, hidden, k }, epochs,
    /// batchSize, learningRate, labelSmoothing, weightDecay, validationFraction, patience, seed,
    /// augment: { views, ... }, finetuneBlocks }`), calling `onEpoch(report)` after each epoch.
    /// Resolves to `{ history, stop, batches, validation, elapsedMs }`.
    pub async fn train(&self, config: JsValue, on_epoch: Option<js_sys::Function>) -> Result<JsValue, JsError> {
        let config: TrainConfig = options(config)?;
        let mut guard = self.samples.try_borrow_mut().map_err(|_| js_error(BUSY))?;
        let samples = &mut *guard;
        self.cancel.reset();
        let start = crate::clock::now_ms();
        let wanted = (config.augment.clone(), config.finetune_blocks);
        if wanted != samples.cached_with {
            // Re-embed every frame with the new views or cut point.
            let mut cache = EmbeddingCache::default();
            let jobs = Job::all(&samples.dataset, |_| wanted.0.views);
            let embedder = Embedder { backbone: &self.model.backbone, tail_blocks: wanted.1, device: &self.backbone_device };
            embedder.embed(&jobs, &wanted.0, 0, &mut cache, &self.cancel).await.map_err(js_error)?;
            samples.cache = cache;
            samples.cached_with = wanted;
        }
        let mut progress = |report: &EpochReport| {
            if let (Some(f), Ok(value)) = (&on_epoch, serde_wasm_bindgen::to_value(report)) {
                let _ = f.call1(&JsValue::NULL, &value);
            }
        };
        let fitted = fit_cached(&samples.cache, &samples.dataset, &self.model.backbone, &config, &self.head_device, &mut progress, &self.cancel)
            .await
            .map_err(js_error)?;
        let summary = TrainSummary {
            history: fitted.history,
            stop: fitted.stop,
            batches: fitted.batches,
            validation: fitted.validation,
            elapsed_ms: crate::clock::now_ms() - start,
        };
        *self.classifier.borrow_mut() = Some(fitted.classifier);
        serde_wasm_bindgen::to_value(&summary).map_err(js_error)
    }

    /// Stops `train` at its next mini-batch (it resolves with `stop: "cancelled"`).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Class probabilities of an RGBA frame: `[{ class, label, probability }]`, most probable
    /// first.
    pub async fn predict(&self, width: usize, height: usize, pixels: Vec<u8>) -> Result<JsValue, JsError> {
        let image = RgbaView::new(width, height, &pixels).map_err(js_error)?;
        let classifier = self.classifier.borrow().clone().ok_or_else(|| js_error("train or load a model first"))?;
        let rows = classifier.probabilities(&self.model.backbone, &[image], &self.backbone_device).await.map_err(js_error)?;
        let ranked = classifier.ranked(rows.first().map(Vec::as_slice).unwrap_or_default());
        serde_wasm_bindgen::to_value(&ranked).map_err(js_error)
    }

    /// The trained model as a record file (`.bpk`): head, labels, backbone id, settings.
    #[wasm_bindgen(js_name = exportModel)]
    pub async fn export_model(&self) -> Result<Vec<u8>, JsError> {
        let classifier = self.classifier.borrow().clone().ok_or_else(|| js_error("there is no trained model yet"))?;
        // Saving reads tensors synchronously: only the CPU backend can do that in a browser.
        let on_cpu = classifier.to_device_async(&Device::flex()).await.map_err(js_error)?;
        classifier::save(&on_cpu).map_err(js_error)
    }

    /// Loads a model record for this session's backbone, replacing the trained one.
    #[wasm_bindgen(js_name = importModel)]
    pub fn import_model(&self, bytes: Vec<u8>) -> Result<JsValue, JsError> {
        let classifier = classifier::load(bytes, &self.model.backbone, &self.head_device).map_err(js_error)?;
        let labels = classifier.info.labels.clone();
        *self.classifier.borrow_mut() = Some(classifier);
        serde_wasm_bindgen::to_value(&labels).map_err(js_error)
    }
}

impl Samples {
    /// The index of class `name`, added if new.
    fn add_class(&mut self, name: String) -> Result<usize, JsError> {
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(js_error("a class needs a name"));
        }
        Ok(self.dataset.labels.iter().position(|l| *l == name).unwrap_or_else(|| {
            self.dataset.labels.push(name);
            self.dataset.labels.len() - 1
        }))
    }
}
