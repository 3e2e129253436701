//! `FewShotSession`: the JS API of the few-shot flow. Samples are kept as image files (nothing
//! the user captured is lost when settings change; see [`image_files`]) and their frames embedded
//! once when added; `train` computes the augmented views they lack and trains on the cached
//! rows, re-embedding from the frames only when fine-tuning or feature settings change. Every
//! augmented view asked for is kept while the rows stay within
//! [`VIEWS_ROWS`](crate::training::VIEWS_ROWS); past it, each sample keeps fewer (see
//! [`affordable_views`](crate::training::affordable_views)).

mod editing;
mod export;
mod image_files;
mod project;
mod training;
mod views;

use crate::web::error::{EngineError, ErrorName};
use std::cell::RefCell;
use std::collections::BTreeMap;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use self::image_files::ImageFile;
use super::source::{self, ImageSource};
use crate::backbone::{BackboneKind, Features};
use crate::classifier::unsure::{is_unsure, valid_threshold};
use crate::classifier::{self, ClassScore, Classifier};
use crate::device::{BackendKind, backend_choice};
use crate::readback::read;
use crate::train_config::TrainConfig;
use crate::training::{CancelToken, StageTimes, evaluate_rows, measure_stages};
use crate::web::backbone_weights::{fetch_weights, parse_backbone};
use crate::web::backends::Backends;
use crate::web::fetch;
use crate::web::options::options;
use crate::weights::PretrainedBackbone;
use crate::weights::served::ServedRecords;

/// Options of [`FewShotSession::create`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SessionOptions {
    backbone: Option<String>,
    /// Backbone stage: `"auto"` (measured), `"wgpu"` or `"cpu"`.
    backend: Option<String>,
    /// Head stage: `"auto"` (measured), `"wgpu"` or `"cpu"`.
    head_backend: Option<String>,
    /// URL of the backbone's weight record.
    weights_url: Option<String>,
    /// URL of each backbone's served record, by backbone id.
    weights_urls: BTreeMap<String, String>,
    /// Folder (URL ending in `/`) holding the served records, when neither URL is given.
    weights_base: Option<String>,
    /// A trained model (bytes or URL) to load; its backbone is the session's.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    model: JsValue,
    /// The features examples are embedded into until `train` asks for others (default:
    /// `"spatial"`; `"pooled"` to hand in pooled embeddings saved elsewhere).
    features: Option<Features>,
}

/// Options of [`FewShotSession::add_sample`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SampleOptions {
    /// The sample's id (unique in the session); one is made up when absent.
    id: Option<String>,
    /// Rows saved earlier by `sampleEmbedding`, used instead of running the backbone when
    /// they were made with the session's current settings.
    embedding: Option<SavedEmbedding>,
}

/// A sample's cached rows, as `sampleEmbedding` returns them for an app to store.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedEmbedding {
    /// What the rows were computed with (backbone, augmentation, fine-tune depth).
    key: String,
    /// One row's shape.
    shape: Vec<usize>,
    /// Every row, view after view, as f16 bits.
    #[serde(with = "serde_bytes_u16")]
    rows: Vec<u16>,
}

/// `Vec<u16>` as a JS `Uint16Array`.
mod serde_bytes_u16 {
    use serde::{Deserializer, Serializer};
    use wasm_bindgen::{JsCast, JsValue};

    pub fn serialize<S: Serializer>(rows: &[u16], serializer: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(
            &JsValue::from(js_sys::Uint16Array::from(rows)),
            serializer,
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u16>, D::Error> {
        let value: JsValue = serde_wasm_bindgen::preserve::deserialize(deserializer)?;
        let array = value
            .dyn_into::<js_sys::Uint16Array>()
            .map_err(|_| serde::de::Error::custom("rows must be a Uint16Array"))?;
        Ok(array.to_vec())
    }
}

/// What `predict` resolves to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Prediction {
    /// Every class, most probable first.
    scores: Vec<ClassScore>,
    /// Whether the top class stays below the model's threshold: the model is not sure.
    unsure: bool,
    /// The model's "not sure" threshold.
    threshold: f32,
    /// Milliseconds in the backbone (including reading its output back).
    backbone_ms: f64,
    /// Milliseconds in the head.
    head_ms: f64,
    /// The image's rows, as `addSample` takes them, when asked for and the samples are
    /// embedded into the rows the model reads: adding the image then runs no backbone pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    embedding: Option<SavedEmbedding>,
}

/// Options of [`FewShotSession::export_onnx`].
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ExportOptions {
    /// How the weights are stored.
    precision: crate::export::Precision,
}

/// Options of [`FewShotSession::predict`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct PredictOptions {
    /// Return the image's rows, to add it as an example without embedding it again.
    embedding: bool,
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

/// The user's classes and samples, with their image files, and their cached rows.
type Samples = crate::session::Samples<ImageFile>;

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

const BUSY: &str =
    "the session is busy training or adding a sample: wait for it, or cancel training";

#[wasm_bindgen]
impl FewShotSession {
    /// Loads a backbone and picks devices: `{ backbone?, backend?, headBackend?, weightsUrl?,
    /// weightsUrls?, weightsBase?, model?, features? }` (backends `"auto" | "wgpu" | "cpu"`; `"auto"` measures both and
    /// takes the faster). With `model` (bytes or URL of a trained model) the backbone is the
    /// model's, and the model is loaded, ready to predict.
    pub async fn create(options_value: JsValue) -> Result<FewShotSession, EngineError> {
        let options: SessionOptions = options(options_value)?;
        let model = match options.model.is_undefined() || options.model.is_null() {
            true => None,
            false => Some(
                fetch::file_bytes(options.model.clone(), "a model")
                    .await
                    .map_err(EngineError::invalid)?,
            ),
        };
        let kind: BackboneKind = match (&model, options.backbone.as_deref()) {
            (Some(bytes), wanted) => {
                let info = classifier::info(bytes).map_err(EngineError::from)?;
                if wanted.is_some_and(|w| w != info.backbone.id()) {
                    return Err(EngineError::invalid(format!(
                        "the model was trained on {}, not {}",
                        info.backbone,
                        wanted.unwrap_or_default()
                    )));
                }
                info.backbone
            }
            (None, Some(wanted)) => wanted.parse().map_err(EngineError::from)?,
            (None, None) => BackboneKind::default(),
        };

        let defaults = TrainConfig::default();
        let config = TrainConfig {
            features: options.features.unwrap_or(defaults.features),
            ..defaults
        };
        let mut measured = Vec::new();
        let served = ServedRecords {
            url: options.weights_url,
            urls: options.weights_urls,
            base: options.weights_base,
        };
        let asked = (
            backend_choice(options.backend.as_deref())?,
            backend_choice(options.head_backend.as_deref())?,
        );
        let backends = Backends::available(asked).await;
        // Both stages automatic on a software adapter: the CPU, without measuring.
        let decided = backends.decided().filter(|_| asked == (None, None));
        let wanted = decided
            .as_ref()
            .map_or(asked, |(kind, _)| (Some(*kind), Some(*kind)));
        if let (Some(b), _) | (_, Some(b)) = wanted
            && !backends.kinds().contains(&b)
        {
            return Err(EngineError::new(
                ErrorName::BackendUnavailable,
                format!(
                    "backend {b} is not available: {}",
                    backends.reason().unwrap_or_default()
                ),
            ));
        }
        let (url, bytes) = fetch_weights(kind, &served).await?;
        // With both stages named, the backbone goes onto its own backend only; otherwise onto
        // every backend, to measure them.
        let loaded = match wanted {
            (Some(backbone), Some(_)) => vec![backbone],
            _ => backends.kinds(),
        };
        let mut models = Vec::new();
        for backend in loaded {
            let device = backends.device(backend).map_err(EngineError::from)?;
            let model = parse_backbone(kind, &url, bytes.clone(), &device)?;
            models.push((backend, device, model));
        }
        let choose = |requested: Option<BackendKind>,
                      pick: &dyn Fn(&StageTimes) -> f64,
                      measured: &[(BackendKind, StageTimes)]| {
            requested
                .filter(|b| backends.kinds().contains(b))
                .unwrap_or_else(|| {
                    measured
                        .iter()
                        .min_by(|a, b| pick(&a.1).total_cmp(&pick(&b.1)))
                        .map_or(BackendKind::Cpu, |m| m.0)
                })
        };
        if models.len() > 1 && (wanted.0.is_none() || wanted.1.is_none()) {
            for (backend, device, model) in &models {
                let times = measure_stages(&model.backbone, &config, 2, device)
                    .await
                    .map_err(EngineError::from)?;
                measured.push((*backend, times));
            }
        }
        let backbone_kind = choose(wanted.0, &|t| t.backbone_ms, &measured);
        let head_kind = choose(wanted.1, &|t| t.head_step_ms, &measured);
        let (_, backbone_device, backbone) = models
            .into_iter()
            .find(|m| m.0 == backbone_kind)
            .ok_or_else(|| EngineError::invalid("no device"))?;
        let head_device = backends.device(head_kind).map_err(EngineError::from)?;
        let placement = Placement {
            backbone: backbone_kind,
            head: head_kind,
            measured,
            fallback_reason: decided.map(|d| d.1).or_else(|| backends.reason()),
        };
        let session = FewShotSession {
            model: backbone,
            backbone_device,
            head_device,
            placement,
            samples: RefCell::new(Samples::new(config.augment.clone(), config.rows(kind))),
            classifier: RefCell::new(None),
            cancel: CancelToken::default(),
        };
        if let Some(bytes) = model {
            let classifier = classifier::load(bytes, &session.model.backbone, &session.head_device)
                .map_err(EngineError::from)?;
            *session.classifier.borrow_mut() = Some(classifier);
        }
        Ok(session)
    }

    /// `{ backbone, featureDim, placement: { backbone, head, measured, fallbackReason }, labels,
    /// counts, cachedBytes, cachedViews, trained, modelLabels, threshold, busy }` (labels and counts are
    /// empty while busy; `cachedViews`: augmented views each sample keeps, see [`VIEWS_ROWS`](crate::training::VIEWS_ROWS)).
    #[wasm_bindgen(unchecked_return_type = "SessionInfo")]
    pub fn info(&self) -> Result<JsValue, EngineError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Info<'a> {
            backbone: BackboneKind,
            feature_dim: usize,
            placement: &'a Placement,
            labels: &'a [String],
            counts: Vec<usize>,
            cached_bytes: usize,
            cached_views: Option<usize>,
            trained: bool,
            model_labels: Option<Vec<String>>,
            threshold: Option<f32>,
            busy: bool,
        }
        let samples = self.samples.try_borrow().ok();
        let empty = Vec::new();
        let info = Info {
            backbone: self.model.backbone.kind,
            feature_dim: self.model.backbone.kind.feature_dim(),
            placement: &self.placement,
            labels: samples.as_ref().map_or(&empty, |s| &s.dataset.labels),
            counts: samples
                .as_ref()
                .map_or_else(Vec::new, |s| s.dataset.class_counts()),
            cached_bytes: samples.as_ref().map_or(0, |s| s.cache.bytes()),
            cached_views: samples.as_ref().map(|s| s.cached_with.0.views),
            trained: self.classifier.try_borrow().map_or(true, |c| c.is_some()),
            model_labels: self
                .classifier
                .try_borrow()
                .ok()
                .and_then(|c| c.as_ref().map(|c| c.info.labels.clone())),
            threshold: self
                .classifier
                .try_borrow()
                .ok()
                .and_then(|c| c.as_ref().map(|c| c.info.threshold())),
            busy: samples.is_none(),
        };
        serde_wasm_bindgen::to_value(&info).map_err(EngineError::from)
    }

    /// Stops `train` at its next mini-batch (it resolves with `stop: "cancelled"`).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Class probabilities of an image (any source `addSample` takes): `{ scores: [{ class,
    /// label, probability }] (most probable first), unsure, threshold, backboneMs, headMs,
    /// embedding? }`. `options`: `{ embedding }` asks for the image's rows, which `addSample`
    /// then takes instead of running the backbone again (absent while training runs, or when
    /// the samples are embedded into other rows than the model reads).
    #[wasm_bindgen(unchecked_return_type = "Prediction")]
    pub async fn predict(
        &self,
        source: &ImageSource,
        options_value: Option<JsValue>,
    ) -> Result<JsValue, EngineError> {
        let options: PredictOptions = options(options_value.unwrap_or(JsValue::UNDEFINED))?;
        let frame = source::read(source)?;
        let image = frame.view();
        let classifier = self
            .classifier
            .borrow()
            .clone()
            .ok_or_else(|| EngineError::invalid("train or load a model first"))?;
        let start = crate::clock::now_ms();
        let (rows, shape) = classifier
            .backbone_rows(&self.model.backbone, &[image], &self.backbone_device)
            .map_err(EngineError::from)?;
        // The backbone's rows are read back once, which also times it; the head takes them where
        // they are, or uploaded to its device when that is another one.
        let dims = rows.dims();
        let values = read(rows.clone()).await.map_err(EngineError::from)?;
        let embedding = options
            .embedding
            .then(|| self.saved(&classifier, &shape, &values));
        let rows = if classifier.device == self.backbone_device {
            rows
        } else {
            Tensor::from_data(TensorData::new(values, dims), &classifier.device)
        };
        let backbone_done = crate::clock::now_ms();
        let probabilities = classifier
            .probabilities_of_rows(rows, &shape)
            .await
            .map_err(EngineError::from)?;
        let scores =
            classifier.ranked(probabilities.first().map(Vec::as_slice).unwrap_or_default());
        let threshold = classifier.info.threshold();
        let prediction = Prediction {
            unsure: scores
                .first()
                .is_some_and(|top| is_unsure(top.probability, threshold)),
            scores,
            threshold,
            backbone_ms: backbone_done - start,
            head_ms: crate::clock::now_ms() - backbone_done,
            embedding: embedding.flatten(),
        };
        serde_wasm_bindgen::to_value(&prediction).map_err(EngineError::from)
    }

    /// Sets the trained model's "not sure" threshold (a probability, 0 to 1; saved with the
    /// model): predictions whose top class stays below it are `unsure`.
    #[wasm_bindgen(js_name = setThreshold)]
    pub fn set_threshold(&self, threshold: f32) -> Result<(), EngineError> {
        if !valid_threshold(threshold) {
            return Err(EngineError::invalid(format!(
                "the threshold must be 0 to 1, not {threshold}"
            )));
        }
        let mut classifier = self.classifier.borrow_mut();
        let classifier = classifier
            .as_mut()
            .ok_or_else(|| EngineError::invalid("train or load a model first"))?;
        classifier.info.unsure_below = Some(threshold);
        Ok(())
    }

    /// How the trained model does on every sample (the frame itself, not augmented views):
    /// `{ count, accuracy, perClass, confusion, cells }`, `cells[truth][predicted]` listing
    /// sample ids.
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the borrow is the session's busy flag: every other use of the samples asks with try_borrow and is refused meanwhile"
    )]
    #[wasm_bindgen(unchecked_return_type = "Evaluation")]
    pub async fn evaluate(&self) -> Result<JsValue, EngineError> {
        let samples = self.edit()?;
        let classifier = self
            .classifier
            .borrow()
            .clone()
            .ok_or_else(|| EngineError::invalid("train or load a model first"))?;
        if classifier.info.labels != samples.dataset.labels {
            return Err(EngineError::invalid(
                "the classes changed since training: train again to evaluate",
            ));
        }
        let rows: Vec<usize> = samples
            .cache
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, e)| e.view == 0)
            .map(|(i, _)| i)
            .collect();
        let ids = |s: usize| samples.dataset.samples[s].id.as_str();
        let evaluation = evaluate_rows(&classifier, &samples.cache, &rows, &ids)
            .await
            .map_err(EngineError::from)?;
        serde_wasm_bindgen::to_value(&evaluation).map_err(EngineError::from)
    }

    /// The trained model as a record file (`.bpk`, see docs/model-format.md): head, labels,
    /// backbone id, preprocessing, settings.
    pub async fn save(&self) -> Result<Vec<u8>, EngineError> {
        let classifier = self
            .classifier
            .borrow()
            .clone()
            .ok_or_else(|| EngineError::invalid("there is no trained model yet"))?;
        save_model(&classifier).await
    }

    /// The trained model and the backbone as one ONNX file (see docs/model-format.md): RGB
    /// pixels in, class probabilities out, labels and preprocessing in its metadata.
    /// `options`: `{ precision: "f32" | "f16" }` (default f32; f16 halves the file).
    #[wasm_bindgen(js_name = exportOnnx)]
    pub async fn export_onnx(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ precision?: \"f32\" | \"f16\" }")]
        options_value: JsValue,
    ) -> Result<Vec<u8>, EngineError> {
        let options: ExportOptions = options(options_value)?;
        let classifier = self.classifier.borrow().clone().ok_or_else(|| {
            EngineError::invalid("there is no trained model to export yet: train one first")
        })?;
        crate::export::onnx(&self.model.backbone, &classifier, options.precision)
            .await
            .map_err(EngineError::from)
    }

    /// Loads a model record (bytes, or the URL of one) made for this session's backbone,
    /// replacing the trained model. Resolves to its labels.
    #[wasm_bindgen(unchecked_return_type = "string[]")]
    pub async fn load(&self, model: JsValue) -> Result<JsValue, EngineError> {
        let bytes = fetch::file_bytes(model, "a model")
            .await
            .map_err(EngineError::invalid)?;
        let classifier = classifier::load(bytes, &self.model.backbone, &self.head_device)
            .map_err(EngineError::from)?;
        let labels = classifier.info.labels.clone();
        *self.classifier.borrow_mut() = Some(classifier);
        serde_wasm_bindgen::to_value(&labels).map_err(EngineError::from)
    }

    /// Frees the session's memory now (the object cannot be used afterwards).
    pub fn dispose(self) {}
}

/// A model record's bytes.
async fn save_model(classifier: &Classifier) -> Result<Vec<u8>, EngineError> {
    // Saving reads tensors synchronously: only the CPU backend can do that in a browser.
    let on_cpu = classifier
        .to_device_async(&Device::flex())
        .await
        .map_err(EngineError::from)?;
    classifier::save(&on_cpu).map_err(EngineError::from)
}

impl FewShotSession {
    /// `values` (one image's rows of `shape`, read by `classifier`) as the samples would keep
    /// them, when the samples are free and embedded into the rows `classifier` reads.
    fn saved(
        &self,
        classifier: &Classifier,
        shape: &[usize],
        values: &[f32],
    ) -> Option<SavedEmbedding> {
        let samples = self.samples.try_borrow().ok()?;
        (samples.cached_with.1 == classifier.rows()).then(|| SavedEmbedding {
            key: samples.key(self.model.backbone.kind),
            shape: shape.to_vec(),
            rows: values
                .iter()
                .map(|&v| half::f16::from_f32(v).to_bits())
                .collect(),
        })
    }

    /// The samples, for a change; refused while training or embedding runs.
    fn edit(&self) -> Result<std::cell::RefMut<'_, Samples>, EngineError> {
        self.samples
            .try_borrow_mut()
            .map_err(|_| EngineError::new(ErrorName::Busy, BUSY))
    }
}
