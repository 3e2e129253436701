//! The JavaScript API (wasm-bindgen). Everything async returns a Promise; every error is a
//! rejected Promise with a message, never a panic across the boundary.

mod fetch;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::backbone::BackboneKind;
use crate::device::{BackendKind, device};
use crate::image::RgbaView;
use crate::weights::{PretrainedBackbone, record};

/// Installs the panic hook so a Rust panic is reported on the console with its message.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Options of [`ImageNetModel::create`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CreateOptions {
    /// Backbone id; defaults to MobileNetV2.
    backbone: Option<String>,
    /// `"wgpu"`, `"cpu"` or `"auto"` (WebGPU, falling back to CPU); defaults to `"auto"`.
    backend: Option<String>,
    /// URL of the weight record; defaults to `www/weights/<backbone>.f16.bpk`.
    weights_url: Option<String>,
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

fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
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
    /// Loads a backbone: `{ backbone?: string, backend?: "auto" | "wgpu" | "cpu", weightsUrl?: string }`.
    pub async fn create(options: JsValue) -> Result<ImageNetModel, JsError> {
        let options: CreateOptions = if options.is_undefined() || options.is_null() {
            CreateOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(js_error)?
        };
        let kind: BackboneKind = options.backbone.as_deref().unwrap_or("mobilenet_v2").parse().map_err(js_error)?;
        let requested = options.backend.as_deref().unwrap_or("auto");
        let (backend, device, fallback_reason) = match requested {
            "auto" => match device(BackendKind::Wgpu).await {
                Ok(d) => (BackendKind::Wgpu, d, None),
                Err(reason) => (BackendKind::Cpu, device(BackendKind::Cpu).await.map_err(js_error)?, Some(reason)),
            },
            other => {
                let kind: BackendKind = other.parse().map_err(js_error)?;
                (kind, device(kind).await.map_err(js_error)?, None)
            }
        };
        let url = options.weights_url.unwrap_or_else(|| format!("www/weights/{}.f16.bpk", kind.id()));
        let bytes = fetch::bytes(&url).await.map_err(js_error)?;
        let weight_bytes = bytes.len();
        let model = record::load(bytes, &device).map_err(|e| js_error(format!("{url}: {e}")))?;
        if model.info.backbone != kind {
            return Err(js_error(format!("{url} holds {}, not {}", model.info.backbone, kind)));
        }
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
        Ok(ImageNetModel { model, device, info })
    }

    /// `{ backbone, backboneName, backend, fallbackReason, featureDim, inputSize, weightBytes, precision }`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        serde_wasm_bindgen::to_value(&self.info).map_err(js_error)
    }

    /// The `k` most probable ImageNet classes of an RGBA image (`ImageData` fields):
    /// `[{ index, label, probability }]`, most probable first.
    pub async fn classify(&self, width: usize, height: usize, pixels: Vec<u8>, k: usize) -> Result<JsValue, JsError> {
        let image = RgbaView::new(width, height, &pixels).map_err(js_error)?;
        let mut results = self.model.classify(&[image], k, &self.device).await.map_err(js_error)?;
        serde_wasm_bindgen::to_value(&results.pop().unwrap_or_default()).map_err(js_error)
    }

    /// The pooled embedding of an RGBA image.
    pub async fn features(&self, width: usize, height: usize, pixels: Vec<u8>) -> Result<Vec<f32>, JsError> {
        let image = RgbaView::new(width, height, &pixels).map_err(js_error)?;
        let mut rows = self.model.embed(&[image], &self.device).await.map_err(js_error)?;
        Ok(rows.pop().unwrap_or_default())
    }
}

/// Identifiers of every supported backbone, default first.
#[wasm_bindgen(js_name = backbones)]
pub fn backbones() -> Vec<String> {
    BackboneKind::ALL.iter().map(|k| k.id().to_string()).collect()
}
