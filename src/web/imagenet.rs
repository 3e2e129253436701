//! `ImageNetModel`: a pretrained backbone in the page, for ImageNet top-k and embeddings.

use std::collections::BTreeMap;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use super::backbone_weights::{fetch_weights, parse_backbone};
use super::backends::Backends;
use super::error::EngineError;
use super::options::options;
use super::source::{self, ImageSource};
use crate::backbone::BackboneKind;
use crate::device::{BackendKind, backend_choice};
use crate::weights::PretrainedBackbone;
use crate::weights::served::ServedRecords;

/// Options of [`ImageNetModel::create`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CreateOptions {
    /// Backbone id; defaults to MobileNetV2.
    backbone: Option<String>,
    /// `"wgpu"`, `"cpu"` or `"auto"` (WebGPU, falling back to CPU); defaults to `"auto"`.
    backend: Option<String>,
    /// URL of the weight record; defaults to the served record under `www/weights/`.
    weights_url: Option<String>,
    /// URL of each backbone's served record, by backbone id.
    weights_urls: BTreeMap<String, String>,
    /// Folder of the served records (absolute in a worker), when neither URL is given.
    weights_base: Option<String>,
}

/// What a loaded model reports about itself.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelInfo {
    backbone: BackboneKind,
    backbone_name: &'static str,
    backend: BackendKind,
    /// Why the requested backend was not used, when it fell back to the CPU.
    fallback_reason: Option<String>,
    feature_dim: usize,
    input_size: usize,
    weight_bytes: usize,
    precision: crate::weights::Precision,
}

/// A pretrained backbone loaded in the page: ImageNet top-k and embeddings of images.
#[wasm_bindgen]
pub struct ImageNetModel {
    model: PretrainedBackbone,
    device: Device,
    info: ModelInfo,
}

#[wasm_bindgen]
impl ImageNetModel {
    /// Loads a backbone: `{ backbone?: string, backend?: "auto" | "wgpu" | "cpu", weightsUrl?:
    /// string, weightsUrls?: { [backbone: string]: string }, weightsBase?: string }`.
    pub async fn create(options_value: JsValue) -> Result<ImageNetModel, EngineError> {
        let options: CreateOptions = options(options_value)?;
        let kind: BackboneKind = match options.backbone.as_deref() {
            Some(id) => id.parse().map_err(EngineError::from)?,
            None => BackboneKind::default(),
        };
        let asked = backend_choice(options.backend.as_deref())?;
        let auto = asked.is_none();
        let backends = Backends::available((asked, asked)).await;
        let backend =
            asked.unwrap_or_else(|| backends.decided().map_or(backends.kinds()[0], |d| d.0));
        let device = backends.device(backend).map_err(EngineError::from)?;
        let fallback_reason = if auto {
            backends
                .decided()
                .map(|d| d.1)
                .or_else(|| backends.reason())
        } else {
            None
        };
        let served = ServedRecords {
            url: options.weights_url,
            urls: options.weights_urls,
            base: options.weights_base,
        };
        let (url, bytes) = fetch_weights(kind, &served).await?;
        let weight_bytes = bytes.len();
        let model = parse_backbone(kind, &url, bytes, &device)?;
        let info = ModelInfo {
            backbone: kind,
            backbone_name: kind.display_name(),
            backend,
            fallback_reason,
            feature_dim: kind.feature_dim(),
            input_size: kind.input_size(),
            weight_bytes,
            precision: model.info.precision,
        };
        Ok(ImageNetModel {
            model,
            device,
            info,
        })
    }

    /// `{ backbone, backboneName, backend, fallbackReason, featureDim, inputSize, weightBytes, precision }`.
    pub fn info(&self) -> Result<JsValue, EngineError> {
        serde_wasm_bindgen::to_value(&self.info).map_err(EngineError::from)
    }

    /// The `k` most probable ImageNet classes of an image (any source `FewShotSession.addSample`
    /// takes): `[{ index, label, probability }]`, most probable first.
    #[wasm_bindgen(unchecked_return_type = "ImageNetScore[]")]
    pub async fn classify(&self, source: &ImageSource, k: usize) -> Result<JsValue, EngineError> {
        let frame = source::read(source)?;
        let image = frame.view();
        let mut results = self
            .model
            .classify(&[image], k, &self.device)
            .await
            .map_err(EngineError::from)?;
        serde_wasm_bindgen::to_value(&results.pop().unwrap_or_default()).map_err(EngineError::from)
    }

    /// The pooled embedding of an image.
    pub async fn features(&self, source: &ImageSource) -> Result<Vec<f32>, EngineError> {
        let frame = source::read(source)?;
        let image = frame.view();
        let mut rows = self
            .model
            .embed(&[image], &self.device)
            .await
            .map_err(EngineError::from)?;
        Ok(rows.pop().unwrap_or_default())
    }

    /// The pooled embeddings of several images, run as one batch (or as few as the backbone
    /// allows): `N × featureDim` values, image after image.
    #[wasm_bindgen(js_name = featuresBatch)]
    pub async fn features_batch(&self, sources: Vec<ImageSource>) -> Result<Vec<f32>, EngineError> {
        let frames = sources
            .iter()
            .map(|s| source::read(s))
            .collect::<Result<Vec<_>, _>>()?;
        let images: Vec<_> = frames.iter().map(|f| f.view()).collect();
        let mut values = Vec::new();
        for batch in images.chunks(self.info.backbone.max_batch()) {
            values.extend(
                self.model
                    .embed(batch, &self.device)
                    .await
                    .map_err(EngineError::from)?
                    .concat(),
            );
        }
        Ok(values)
    }
}
