//! Client-side training on top of a frozen (or partly fine-tuned) backbone: the embedding
//! cache, the head trainer, KNN, evaluation, and [`fit`], the pipeline the browser, the CLI
//! and the tests share.

mod cancel;
mod embeddings;
mod evaluate;
mod fit;
mod optimizer;
mod placement;
mod sampler;
mod trainer;

pub use cancel::CancelToken;
pub use embeddings::{Embedder, EmbeddingCache, Entry, Job};
pub use evaluate::{Evaluation, argmax};
pub use fit::{Fitted, Stages, evaluate_rows, fit, fit_cached, fit_rows};
pub use placement::{StageTimes, measure_stages};
pub use sampler::BalancedSampler;
pub use trainer::{EpochReport, Rows, StopReason, TrainNet, Trained, train};

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::augment::AugmentConfig;
use crate::backbone::{BackboneKind, Features, RowKind};
use crate::dataset::DatasetError;
use crate::head::HeadConfig;

/// Everything that decides how a classifier is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrainConfig {
    /// The head.
    pub head: HeadConfig,
    /// Which backbone outputs the head reads (spatial where the backbone has a spatial map and
    /// no blocks are fine-tuned; pooled otherwise).
    pub features: Features,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// Adam's learning rate for the head.
    pub learning_rate: f64,
    /// Label smoothing of the cross-entropy (0: none).
    pub label_smoothing: f32,
    /// L2 weight decay, added to the gradient as Burn's Adam does (0: none).
    pub weight_decay: f32,
    /// Fraction of each class held out for validation and early stopping (0: none).
    pub validation_fraction: f32,
    /// Epochs without validation-loss improvement before stopping (0: never stop early).
    pub patience: usize,
    /// Seed of the split, the augmentations, the batches and the initial weights' order.
    pub seed: u64,
    /// Augmented views of each training sample.
    pub augment: AugmentConfig,
    /// Backbone blocks to fine-tune with the head (0: frozen backbone).
    pub finetune_blocks: usize,
    /// The fine-tuned blocks' learning rate, relative to the head's.
    pub finetune_learning_rate_factor: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            head: HeadConfig::default(),
            features: Features::Spatial,
            epochs: 100,
            batch_size: 16,
            learning_rate: 1e-3,
            label_smoothing: 0.0,
            weight_decay: 0.0,
            validation_fraction: 0.15,
            patience: 10,
            seed: 0,
            augment: AugmentConfig::default(),
            finetune_blocks: 0,
            finetune_learning_rate_factor: 0.1,
        }
    }
}

impl TrainConfig {
    /// The rows these settings train on with backbone `kind`.
    pub fn rows(&self, kind: BackboneKind) -> RowKind {
        RowKind::of(kind, self.features, self.finetune_blocks)
    }
}

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
    Device(String),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dataset(e) => e.fmt(f),
            Self::Config(message) => write!(f, "invalid training settings: {message}"),
            Self::Cancelled => f.write_str("training was cancelled"),
            Self::Device(message) => write!(f, "the compute device failed: {message}"),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<DatasetError> for TrainError {
    fn from(e: DatasetError) -> Self {
        Self::Dataset(e)
    }
}
