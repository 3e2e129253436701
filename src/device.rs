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

/// A backend as the web API's options name it: `"auto"` (or none) leaves the choice to the
/// engine (`None`); otherwise a [`BackendKind`].
pub fn backend_choice(value: Option<&str>) -> Result<Option<BackendKind>, UnknownName> {
    match value.unwrap_or("auto") {
        "auto" => Ok(None),
        other => other.parse().map(Some),
    }
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

    #[test]
    fn auto_or_nothing_leaves_the_backend_to_the_engine() {
        assert_eq!(backend_choice(None), Ok(None));
        assert_eq!(backend_choice(Some("auto")), Ok(None));
        assert_eq!(backend_choice(Some("cpu")), Ok(Some(BackendKind::Cpu)));
        assert!(backend_choice(Some("tpu")).is_err());
    }
}
