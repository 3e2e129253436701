//! `FewShotSession.exportTflite`: the trained model as a TensorFlow Lite file, an int8 one
//! calibrated on the samples' frames.
//!
//! `FewShotSession.exportTeachableMachine`: the session's samples as a Teachable Machine image
//! model. Teachable Machine's format (TF.js layers) cannot express the app's default head (it
//! reads the spatial map through a signed square root and unit-length normalization), so a head
//! it can express, Teachable Machine's own (Dense(100, ReLU) → Dense(classes) on the pooled
//! embedding), is trained for the export on the same samples and views, from the cached rows
//! (their first columns are the pooled embedding): seconds, no backbone pass.

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::training::notify;
use super::{FewShotSession, image_files, save_model};
use crate::backbone::RowKind;
use crate::export::teachable_machine::teachable_machine;
use crate::export::tflite::{TflitePrecision, calibration_picks, tflite, tflite_zip};
use crate::training::{EmbeddingCache, fit_cached};
use crate::web::error::EngineError;
use crate::web::options::options;
use crate::web::project::set;

/// Options of [`FewShotSession::export_teachable_machine`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct TeachableMachineOptions {
    /// The model's name (`metadata.json`'s `modelName`).
    name: Option<String>,
}

/// Options of [`FewShotSession::export_tflite`].
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TfliteOptions {
    /// `"f32"` or `"int8"`.
    precision: TflitePrecision,
}

/// A JS object of `entries`.
fn object(entries: Vec<(&str, JsValue)>) -> Result<JsValue, EngineError> {
    let object: JsValue = js_sys::Object::new().into();
    for (key, value) in entries {
        set(&object, key, &value)?;
    }
    Ok(object)
}

fn bytes(bytes: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(bytes).into()
}

#[wasm_bindgen]
impl FewShotSession {
    /// The trained model as one TensorFlow Lite file (builtin operators only; see
    /// docs/model-format.md): `{ precision: "f32" | "int8" }` (default f32). Int8 is full-integer
    /// (uint8 pixels in, uint8 probabilities out), its ranges calibrated on up to 48 samples'
    /// frames; `onProgress(fraction)` hears how far that got. Resolves to `{ tflite, zip }`: the
    /// file, and a zip of it (`model.tflite`) with `labels.txt`.
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the borrow is the session's busy flag: every other use of the samples asks with try_borrow and is refused meanwhile"
    )]
    #[wasm_bindgen(js_name = exportTflite, unchecked_return_type = "TfliteExport")]
    pub async fn export_tflite(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ precision?: \"f32\" | \"int8\" }")]
        options_value: JsValue,
        on_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, EngineError> {
        let options: TfliteOptions = options(options_value)?;
        let classifier = self.classifier.borrow().clone().ok_or_else(|| {
            EngineError::invalid("there is no trained model to export yet: train one first")
        })?;
        // The calibration's frames, decoded while the samples are held (edits wait meanwhile).
        let mut images = Vec::new();
        if options.precision == TflitePrecision::Int8 {
            let guard = self.edit()?;
            let samples = &guard.dataset.samples;
            for index in calibration_picks(samples.len()) {
                let sample = &samples[index];
                let name = format!("sample {}", sample.id);
                images.push(sample.image.decode(&name).await?);
            }
        }
        let views: Vec<_> = images.iter().map(|image| image.view()).collect();
        let mut progress = |fraction: f32| notify(&on_progress, &fraction);
        let file = tflite(
            &self.model.backbone,
            &classifier,
            options.precision,
            &views,
            &self.backbone_device,
            &mut progress,
        )
        .await?;
        let zip = tflite_zip(&file, &classifier.info.labels);
        object(vec![("tflite", bytes(&file)), ("zip", bytes(&zip))])
    }

    /// The samples as a Teachable Machine image model (`@teachablemachine/image`, ml5 and TF.js's
    /// `tf.loadLayersModel` load it): trains Teachable Machine's head on the pooled embedding of
    /// the samples and their cached views (the current model's training settings, or the
    /// defaults) and writes it with the backbone. `options`: `{ name }`. Resolves to `{ zip,
    /// model, validation }`: the zip (`model.json`, `weights.bin`, `metadata.json`), the same
    /// head as a magpie model record, and its accuracy on the held-out samples.
    #[allow(
        clippy::await_holding_refcell_ref,
        reason = "the borrow is the session's busy flag: every other use of the samples asks with try_borrow and is refused meanwhile"
    )]
    #[wasm_bindgen(js_name = exportTeachableMachine, unchecked_return_type = "TeachableMachineExport")]
    pub async fn export_teachable_machine(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ name?: string }")] options_value: JsValue,
    ) -> Result<JsValue, EngineError> {
        let options: TeachableMachineOptions = options(options_value)?;
        let guard = self.edit()?;
        let samples = &*guard;
        // A cancel of an earlier training must not stop this one's embedding or fitting.
        self.cancel.reset();
        let kind = self.model.backbone.kind;
        let trained = self
            .classifier
            .borrow()
            .as_ref()
            .map(|c| c.info.training.clone());
        let config = trained
            .unwrap_or_default()
            .layers_head(&samples.cached_with.0);
        // The pooled embedding: the cached rows' first columns, or the frames again when the rows
        // are a fine-tuned tail's input.
        let pooled = match samples.cached_with.1 {
            RowKind::Pooled | RowKind::Spatial => samples.cache.leading(kind.feature_dim()),
            RowKind::TailInput(_) => None,
        };
        let cache = match pooled {
            Some(cache) => cache,
            None => {
                let mut cache = EmbeddingCache::default();
                let embedder = self.embedder(RowKind::Pooled);
                image_files::embed_files(&samples.dataset, &embedder, &mut cache, &self.cancel)
                    .await?;
                cache
            }
        };
        let fitted = fit_cached(
            &cache,
            &samples.dataset,
            &self.model.backbone,
            &config,
            &self.head_device,
            &mut |_| {},
            &self.cancel,
        )
        .await?;
        drop(guard);
        let name = options.name.unwrap_or_else(|| "tm-my-image-model".into());
        let time_stamp: String = js_sys::Date::new_0().to_iso_string().into();
        let zip =
            teachable_machine(&self.model.backbone, &fitted.classifier, &name, &time_stamp).await?;
        let model = save_model(&fitted.classifier).await?;
        let validation = fitted
            .validation
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())?;
        object(vec![
            ("zip", bytes(&zip)),
            ("model", bytes(&model)),
            ("validation", validation),
        ])
    }
}
