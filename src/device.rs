//! Compute backends: Burn's wgpu backend (WebGPU in browsers, Vulkan/Metal natively) and its
//! `flex` CPU backend, the fallback when no GPU adapter is available.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, ExecutionError};
use serde::{Deserialize, Serialize};

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
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wgpu" | "webgpu" | "gpu" => Ok(Self::Wgpu),
            "cpu" | "flex" => Ok(Self::Cpu),
            _ => Err(format!("unknown backend '{s}' (expected wgpu or cpu)")),
        }
    }
}

/// How every message about a lost GPU device starts. Every later operation on that device fails
/// too, so a caller that sees it (the web app) goes on with the CPU backend.
pub const DEVICE_LOST: &str = "the GPU device was lost";

/// A message for a failed readback: a lost device gets one starting with [`DEVICE_LOST`].
/// WebGPU reports a lost device first as a result buffer that cannot be mapped, then as a
/// poisoned device.
pub fn readback_failed(error: ExecutionError) -> String {
    let text = error.to_string();
    match error {
        ExecutionError::DevicePoisoned { reason } => lost(&reason),
        _ if text.contains("could not be mapped") => lost(&text),
        _ => format!("reading back from the device failed: {text}"),
    }
}

/// [`DEVICE_LOST`] with the last line of `reason` that says something.
fn lost(reason: &str) -> String {
    let detail = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("acktrace"))
        .last()
        .unwrap_or_default();
    format!("{DEVICE_LOST} ({detail})")
}

/// The device for `kind`, initializing the wgpu runtime on first use (once per process).
///
/// On the web this must be awaited before any tensor is created; natively it resolves at once.
pub async fn device(kind: BackendKind) -> Result<Device, String> {
    match kind {
        BackendKind::Cpu => Ok(Device::flex()),
        BackendKind::Wgpu => wgpu_device().await,
    }
}

#[cfg(not(target_family = "wasm"))]
async fn wgpu_device() -> Result<Device, String> {
    use std::sync::OnceLock;
    // wgpu's runtime can be initialized only once per process.
    static WGPU: OnceLock<Result<Device, String>> = OnceLock::new();
    WGPU.get_or_init(|| {
        Device::wgpu_options()
            .init()
            .map_err(|e| format!("no usable GPU adapter: {e}"))
    })
    .clone()
}

#[cfg(target_family = "wasm")]
async fn wgpu_device() -> Result<Device, String> {
    use std::cell::RefCell;

    /// One WebGPU device per page; the browser runs this on one thread.
    enum State {
        Idle,
        Initializing,
        Ready(Result<Device, String>),
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
        .map_err(|e| format!("WebGPU is not available: {e}"));
    WGPU.with(|w| *w.borrow_mut() = State::Ready(result.clone()));
    result
}
