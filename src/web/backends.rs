//! The compute backends a page can use: WebGPU (when the browser has an adapter) and the CPU,
//! and where "auto" puts each stage.

use burn::tensor::Device;
use wasm_bindgen::prelude::*;

use crate::device::{BackendKind, device};
use crate::readback::DeviceError;
use crate::training::{AdapterInfo, placement_from_adapter};

/// The compute backends this page can use.
pub struct Backends {
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
    pub async fn available(asked: (Option<BackendKind>, Option<BackendKind>)) -> Self {
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
    pub fn decided(&self) -> Option<(BackendKind, String)> {
        placement_from_adapter(self.adapter.as_ref())
    }

    /// Usable backends, WebGPU first.
    pub fn kinds(&self) -> Vec<BackendKind> {
        if matches!(self.wgpu, Some(Ok(_))) {
            vec![BackendKind::Wgpu, BackendKind::Cpu]
        } else {
            vec![BackendKind::Cpu]
        }
    }

    /// The device of `kind`, or why WebGPU is missing.
    pub fn device(&self, kind: BackendKind) -> Result<Device, DeviceError> {
        match (kind, &self.wgpu) {
            (BackendKind::Wgpu, Some(wgpu)) => wgpu.clone(),
            (BackendKind::Wgpu, None) => Err(DeviceError::Unavailable(
                "WebGPU was not set up: every stage runs on the CPU".into(),
            )),
            (BackendKind::Cpu, _) => Ok(self.cpu.clone()),
        }
    }

    /// Why WebGPU cannot be used, if it was set up and cannot.
    pub fn reason(&self) -> Option<String> {
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
