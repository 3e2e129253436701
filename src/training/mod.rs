//! Client-side training on top of a frozen (or partly fine-tuned) backbone: the embedding
//! cache, the head trainer, KNN, evaluation, and [`fit`], the pipeline the browser, the CLI
//! and the tests share.

mod cancel;
mod embeddings;
mod evaluate;
mod fit;
mod instant;
mod optimizer;
mod placement;
mod sampler;
mod span;
mod trainer;
mod views;

pub use cancel::CancelToken;
pub use embeddings::{Embedder, EmbeddingCache, Entry, Job};
pub use evaluate::{Evaluation, argmax};
pub use fit::{Fitted, Stages, evaluate_rows, fit, fit_cached, fit_rows};
pub use instant::{head_replaces_instant, instant_config};
pub use placement::{AdapterInfo, StageTimes, measure_stages, placement_from_adapter};
pub use sampler::BalancedSampler;
pub use trainer::{EpochReport, HeadInputs, Rows, StopReason, TrainNet, Trained, train};
pub use views::{VIEWS_ROWS, affordable_views};

use std::fmt;

use crate::dataset::DatasetError;
use crate::readback::DeviceError;

/// Why training could not run.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainError {
    /// The examples cannot be trained on.
    Dataset(DatasetError),
    /// A setting is out of range.
    Config(String),
    /// Stopped at the user's request before a model existed.
    Cancelled,
    /// The compute device failed.
    Device(DeviceError),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dataset(e) => e.fmt(f),
            Self::Config(message) => write!(f, "invalid training settings: {message}"),
            Self::Cancelled => f.write_str("training was cancelled"),
            Self::Device(e) => write!(f, "the compute device failed: {e}"),
        }
    }
}

impl std::error::Error for TrainError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Device(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DeviceError> for TrainError {
    fn from(e: DeviceError) -> Self {
        Self::Device(e)
    }
}

impl From<DatasetError> for TrainError {
    fn from(e: DatasetError) -> Self {
        Self::Dataset(e)
    }
}
