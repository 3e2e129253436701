//! Compute backends: Burn's wgpu backend (WebGPU in browsers, Vulkan/Metal natively) and its
//! `flex` CPU backend, the fallback when no GPU adapter is available.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::names::UnknownName;
use crate::readback::DeviceError;

/// Which compute backend runs the networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Burn's wgpu backend: WebGPU in the browser, Vulkan (or Metal, DX12) natively.
    Wgpu,
    /// Burn's `flex` CPU backend.
    Cpu,
}

impl BackendKind {
    /// Stable identifier: `wgpu` or `cpu`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Wgpu => "wgpu",
            Self::Cpu => "cpu",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for BackendKind {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wgpu" | "webgpu" | "gpu" => Ok(Self::Wgpu),
            "cpu" | "flex" => Ok(Self::Cpu),
            _ => Err(UnknownName {
                what: "backend",
                name: s.to_string(),
                expected: "wgpu or cpu",
            }),
        }
    }
}

/// What a browser says of its WebGPU adapter (`GPUAdapterInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdapterInfo {
    /// Vendor, e.g. `"google"` or `"nvidia"`.
    pub vendor: String,
    /// Architecture, e.g. `"swiftshader"` or `"ampere"`.
    pub architecture: String,
    /// Device name, often empty.
    pub device: String,
    /// Description, often empty.
    pub description: String,
    /// Whether the browser marks it a fallback adapter (`isFallbackAdapter`).
    pub fallback: bool,
}

/// Software rasterizers: adapters that emulate a GPU on the CPU.
const SOFTWARE_ADAPTERS: [&str; 5] = ["swiftshader", "llvmpipe", "lavapipe", "softpipe", "warp"];

impl AdapterInfo {
    /// The software rasterizer this adapter is (its name), if it emulates a GPU on the CPU: a
    /// fallback adapter, or a known software rasterizer by name.
    pub fn software(&self) -> Option<String> {
        let text = [
            &self.vendor,
            &self.architecture,
            &self.device,
            &self.description,
        ]
        .map(|s| s.to_lowercase())
        .join(" ");
        SOFTWARE_ADAPTERS
            .iter()
            .find(|name| text.contains(*name))
            .map(|name| (*name).to_string())
            .or_else(|| self.fallback.then(|| "a fallback adapter".to_string()))
    }
}

/// Where automatic placement puts both stages without measuring, given the WebGPU adapter:
/// the CPU when the adapter is software (Burn's CPU backend beats a GPU emulated on the same
/// CPU, and measuring both costs a first visit seconds), with the reason; `None` to measure.
pub fn placement_from_adapter(adapter: Option<&AdapterInfo>) -> Option<(BackendKind, String)> {
    let name = adapter?.software()?;
    Some((
        BackendKind::Cpu,
        format!("the WebGPU adapter is software ({name}), slower than the CPU backend"),
    ))
}

/// The device for `kind`, initializing the wgpu runtime on first use (once per process).
///
/// On the web this must be awaited before any tensor is created; natively it resolves at once.
pub async fn device(kind: BackendKind) -> Result<Device, DeviceError> {
    match kind {
        BackendKind::Cpu => Ok(Device::flex()),
        BackendKind::Wgpu => wgpu_device().await,
    }
}

#[cfg(not(target_family = "wasm"))]
async fn wgpu_device() -> Result<Device, DeviceError> {
    use std::sync::OnceLock;
    // wgpu's runtime can be initialized only once per process.
    static WGPU: OnceLock<Result<Device, DeviceError>> = OnceLock::new();
    WGPU.get_or_init(|| {
        Device::wgpu_options()
            .init()
            .map_err(|e| DeviceError::Unavailable(format!("no usable GPU adapter: {e}")))
    })
    .clone()
}

#[cfg(target_family = "wasm")]
async fn wgpu_device() -> Result<Device, DeviceError> {
    use std::cell::RefCell;

    /// One WebGPU device per page; the browser runs this on one thread.
    enum State {
        Idle,
        Initializing,
        Ready(Result<Device, DeviceError>),
    }
    thread_local! {
        static WGPU: RefCell<State> = const { RefCell::new(State::Idle) };
    }
    loop {
        let ready = WGPU.with(|w| match &*w.borrow() {
            State::Idle => None,
            State::Initializing => Some(None),
            State::Ready(result) => Some(Some(result.clone())),
        });
        match ready {
            None => break,
            // Another caller is initializing: a second init would fail, so wait for it.
            Some(None) => crate::clock::sleep_ms(10).await,
            Some(Some(result)) => return result,
        }
    }
    WGPU.with(|w| *w.borrow_mut() = State::Initializing);
    let result = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| DeviceError::Unavailable(format!("WebGPU is not available: {e}")));
    WGPU.with(|w| *w.borrow_mut() = State::Ready(result.clone()));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(vendor: &str, architecture: &str, fallback: bool) -> AdapterInfo {
        AdapterInfo {
            vendor: vendor.into(),
            architecture: architecture.into(),
            fallback,
            ..AdapterInfo::default()
        }
    }

    #[test]
    fn software_adapters_place_both_stages_on_the_cpu() {
        // What headless Chromium reports for SwiftShader.
        let swiftshader = adapter("google", "swiftshader", false);
        let (kind, reason) = placement_from_adapter(Some(&swiftshader)).unwrap();
        assert_eq!(kind, BackendKind::Cpu);
        assert!(reason.contains("swiftshader"), "{reason}");
        assert!(placement_from_adapter(Some(&adapter("mesa", "LLVMpipe", false))).is_some());
        assert!(placement_from_adapter(Some(&adapter("", "", true))).is_some());
    }

    #[test]
    fn hardware_adapters_and_no_adapter_are_measured() {
        assert_eq!(
            placement_from_adapter(Some(&adapter("nvidia", "ampere", false))),
            None
        );
        assert_eq!(
            placement_from_adapter(Some(&adapter("apple", "metal-3", false))),
            None
        );
        assert_eq!(placement_from_adapter(None), None);
    }
}
