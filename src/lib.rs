//! # magpie
//!
//! A few-shot image classifier that runs entirely on the client: ImageNet-pretrained backbones
//! (MobileNetV2, EfficientNet-Lite0, MobileNetV1 0.25) in Burn as frozen feature extractors, on
//! WebGPU (Burn's wgpu backend) or on the CPU (Burn's `flex` backend).
//!
//! The same core serves the web app (through [`web`], compiled to WebAssembly), the native
//! `magpie` CLI and the tests.
//!
//! ## Quick start (native)
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use magpie::{backbone::BackboneKind, device::{BackendKind, device}, image::RgbaImage, import};
//! let device = device(BackendKind::Cpu).await?;
//! let model = import::import_from_assets(BackboneKind::MobilenetV2, &device)?;
//! let image = RgbaImage::decode(&std::fs::read("cat.png")?)?;
//! let top5 = model.classify(&[image.view()], 5, &device).await?;
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
//! - `cli` (default): the `magpie` binary.
//! - `pytorch` (with `cli`): importing PyTorch checkpoints (EfficientNet-Lite0).

pub mod augment;
pub mod backbone;
pub mod classifier;
pub mod clock;
pub mod dataset;
pub mod device;
pub mod error_name;
pub mod export;
pub mod head;
pub mod image;
#[cfg(feature = "pytorch")]
pub mod import;
pub mod inference;
pub mod names;
pub mod project;
pub mod readback;
pub mod rng;
pub mod session;
pub mod settings;
/// TF-Lite's FlatBuffers schema, as `flatc` generated it (`third_party/tflite/`): the weights
/// import reads `.tflite` files through it, the TF-Lite export writes them.
#[rustfmt::skip]
#[allow(warnings, clippy::all, clippy::pedantic, unsafe_op_in_unsafe_fn, missing_docs)]
#[path = "../third_party/tflite/schema_generated.rs"]
pub(crate) mod tflite_schema;
pub mod train_config;
pub mod training;
#[cfg(target_family = "wasm")]
pub mod web;
pub mod weights;
