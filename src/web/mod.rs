//! The JavaScript API (wasm-bindgen). Everything async returns a Promise; every error is a
//! rejected Promise with a message, never a panic across the boundary.

mod codec;
mod error;
mod fault;
mod fetch;
mod few_shot;
mod project;
mod settings;
mod source;
mod types;

use error::EngineError;
pub use few_shot::FewShotSession;
pub use project::{class_folders, project_file, read_project, write_project};
pub use settings::{clean_settings, train_options, training_settings};
use source::ImageSource;

use std::collections::BTreeMap;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::backbone::BackboneKind;
use crate::device::{BackendKind, backend_choice, device};
use crate::readback::DeviceError;
use crate::training::{AdapterInfo, placement_from_adapter};
use crate::weights::served::ServedRecords;
use crate::weights::{Precision, PretrainedBackbone, record};

unsafe extern "C" {
    /// The static constructors (pliron's `inventory` registrations, through cubecl), which
    /// wasm-ld synthesizes.
    fn __wasm_call_ctors();
}

/// Runs the static constructors once and installs the panic hook (see [`fault`]). Unless some
/// export calls the constructors itself, wasm-ld links the module "command-style" and runs them
/// again at the start of every export, each call from JavaScript included: 7 % of a CPU frame.
#[wasm_bindgen(start)]
pub fn start() {
    // SAFETY: called once, when the instance starts and before any other Rust code runs.
    unsafe { __wasm_call_ctors() };
    fault::install_hook();
}

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

/// Deserializes an options object; `undefined` or `null` give the defaults.
fn options<T: Default + serde::de::DeserializeOwned>(value: JsValue) -> Result<T, EngineError> {
    if value.is_undefined() || value.is_null() {
        Ok(T::default())
    } else {
        serde_wasm_bindgen::from_value(value)
            .map_err(|e| EngineError::invalid(format!("bad options: {e}")))
    }
}

/// The compute backends this page can use.
struct Backends {
    /// WebGPU's device, or why there is none; `None` when it was not set up (no stage could
    /// run on it).
    wgpu: Option<Result<Device, DeviceError>>,
    cpu: Device,
    /// The WebGPU adapter, as the browser describes it.
    adapter: Option<AdapterInfo>,
}

impl Backends {
    /// WebGPU (when the browser has it) and the CPU, for stages `asked` (`None`: automatic).
    /// WebGPU is not set up when no stage can run on it: both stages on the CPU, named or
    /// decided from a software adapter (see [`placement_from_adapter`]).
    async fn available(asked: (Option<BackendKind>, Option<BackendKind>)) -> Self {
        let adapter = adapter_info().await;
        let cpu = Some(BackendKind::Cpu);
        let cpu_only = asked == (cpu, cpu)
            || (asked == (None, None) && placement_from_adapter(adapter.as_ref()).is_some());
        let wgpu = match cpu_only {
            true => None,
            false => Some(device(BackendKind::Wgpu).await),
        };
        Self {
            wgpu,
            cpu: Device::flex(),
            adapter,
        }
    }

    /// Where "auto" puts both stages without measuring, and why (see
    /// [`placement_from_adapter`]).
    fn decided(&self) -> Option<(BackendKind, String)> {
        placement_from_adapter(self.adapter.as_ref())
    }

    /// Usable backends, WebGPU first.
    fn kinds(&self) -> Vec<BackendKind> {
        if matches!(self.wgpu, Some(Ok(_))) {
            vec![BackendKind::Wgpu, BackendKind::Cpu]
        } else {
            vec![BackendKind::Cpu]
        }
    }

    /// The device of `kind`, or why WebGPU is missing.
    fn device(&self, kind: BackendKind) -> Result<Device, DeviceError> {
        match (kind, &self.wgpu) {
            (BackendKind::Wgpu, Some(wgpu)) => wgpu.clone(),
            (BackendKind::Wgpu, None) => Err(DeviceError::Unavailable(
                "WebGPU was not set up: every stage runs on the CPU".into(),
            )),
            (BackendKind::Cpu, _) => Ok(self.cpu.clone()),
        }
    }

    /// Why WebGPU cannot be used, if it was set up and cannot.
    fn reason(&self) -> Option<String> {
        match &self.wgpu {
            Some(Err(error)) => Some(error.to_string()),
            _ => None,
        }
    }
}

/// The browser's WebGPU adapter (`navigator.gpu.requestAdapter()`, its `info`), read through
/// the JS objects (no unstable web-sys API); `None` when there is none or it says nothing.
async fn adapter_info() -> Option<AdapterInfo> {
    use js_sys::{Function, Promise, Reflect};
    let get = |object: &JsValue, key: &str| {
        Reflect::get(object, &key.into())
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    };
    let navigator = get(&js_sys::global(), "navigator")?;
    let gpu = get(&navigator, "gpu")?;
    let request: Function = get(&gpu, "requestAdapter")?.dyn_into().ok()?;
    let promise: Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let info = get(&adapter, "info")?;
    let text = |key: &str| {
        get(&info, key)
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let flag =
        |object: &JsValue, key: &str| get(object, key).and_then(|v| v.as_bool()) == Some(true);
    Some(AdapterInfo {
        vendor: text("vendor"),
        architecture: text("architecture"),
        device: text("device"),
        description: text("description"),
        fallback: flag(&info, "isFallbackAdapter") || flag(&adapter, "isFallbackAdapter"),
    })
}

/// Downloads `kind`'s served record from where `served` says: its URL and bytes, or a message
/// naming the URL that failed and what to do (a missing file, or a page served in its place).
async fn fetch_weights(
    kind: BackboneKind,
    served: &ServedRecords,
) -> Result<(String, Vec<u8>), EngineError> {
    let url = served.url(kind);
    let bytes = fetch::bytes(&url)
        .await
        .map_err(|e| EngineError::invalid(served.unreachable(kind, &e)))?;
    if let Err(e) = record::info(&bytes) {
        let reason = format!("{url} is not a weight record ({e})");
        return Err(EngineError::invalid(served.unreachable(kind, &reason)));
    }
    Ok((url, bytes))
}

/// Parses a downloaded weight record, checking it holds `kind` and that the page has the
/// memory to load it.
fn parse_backbone(
    kind: BackboneKind,
    url: &str,
    bytes: Vec<u8>,
    device: &Device,
) -> Result<PretrainedBackbone, EngineError> {
    reserve(&bytes, kind)?;
    let model =
        record::load(bytes, device).map_err(|e| EngineError::invalid(format!("{url}: {e}")))?;
    if model.info.backbone != kind {
        return Err(EngineError::invalid(format!(
            "{url} holds {}, not {}",
            model.info.backbone, kind
        )));
    }
    Ok(model)
}

/// Refuses a record the page cannot hold: reserves, then frees, about the memory loading it
/// takes (its f32 parameters twice over), so running out is a message, not an aborted instance.
fn reserve(bytes: &[u8], kind: BackboneKind) -> Result<(), EngineError> {
    let widen = match record::info(bytes).map(|i| i.precision) {
        Ok(Precision::F16) => 2,
        Ok(Precision::Int8) => 4,
        _ => 1,
    };
    let needed = bytes.len().saturating_mul(widen * 2);
    Vec::<u8>::new().try_reserve_exact(needed).map_err(|_| {
        EngineError::invalid(format!(
            "not enough memory for {}: loading it needs about {} MB more than this page can get (close other tabs, or pick a smaller backbone)",
            kind.display_name(),
            needed >> 20
        ))
    })
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

/// A backbone as a picker offers it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackboneChoice {
    id: &'static str,
    name: &'static str,
    note: Option<&'static str>,
    is_default: bool,
    opt_in: bool,
}

/// Every supported backbone, default first, as a picker offers it: `{ id, name, note,
/// isDefault, optIn }` (`optIn`: its weights are brought by the user, see the README).
#[wasm_bindgen(js_name = backboneChoices, unchecked_return_type = "BackboneChoice[]")]
pub fn backbone_choices() -> Result<JsValue, EngineError> {
    let choices: Vec<BackboneChoice> = BackboneKind::ALL
        .iter()
        .map(|&kind| BackboneChoice {
            id: kind.id(),
            name: kind.display_name(),
            note: kind.note(),
            is_default: kind == BackboneKind::default(),
            opt_in: kind.opt_in(),
        })
        .collect();
    Ok(serde_wasm_bindgen::to_value(&choices)?)
}

/// Identifiers of every supported backbone, default first.
#[wasm_bindgen(js_name = backbones)]
pub fn backbones() -> Vec<String> {
    BackboneKind::ALL
        .iter()
        .map(|k| k.id().to_string())
        .collect()
}
