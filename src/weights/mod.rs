//! Weight import and persistence: upstream artifacts (TF-Lite, PyTorch, TF.js layers) are
//! converted once into Burn records ([`record`]) that the app and the CLI load.

mod error;
mod flatbuffer;
mod layers;
#[cfg(feature = "pytorch")]
pub mod pytorch;
pub mod record;
pub mod tflite;
pub mod tfjs;

pub use error::WeightsError;
pub use layers::{BatchNorm, ConvWeights, Dense, LinearWeights, assign};
pub use record::{Precision, PretrainedBackbone, RecordInfo};
