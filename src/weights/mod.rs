//! Weight import and persistence: upstream artifacts (TF-Lite, PyTorch, TF.js layers,
//! torchvision) are converted once into Burn records ([`record`]) that the app and the CLI load.

pub mod assets;
#[cfg(feature = "pytorch")]
mod checkpoint;
mod error;
mod layers;
#[cfg(feature = "pytorch")]
pub mod pytorch;
mod quantize;
pub mod record;
pub mod served;
pub mod tfjs;
#[cfg(feature = "pytorch")]
pub mod tflite;
#[cfg(feature = "pytorch")]
pub mod torchvision;

pub use error::WeightsError;
pub use layers::{BatchNorm, ConvWeights, Dense, LinearWeights, assign};
pub use record::{Precision, PretrainedBackbone, RecordInfo};
