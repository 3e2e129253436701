//! [`TrainConfig`]: everything that decides how a classifier is trained, with its defaults, and
//! [`LIMITS`], the range of every setting a person can choose. Defined once here and read by
//! the CLI (its flags' defaults), the page's settings and the widgets (through the JS API's
//! `trainingSettings`), the trainer and the model file's checks.

use serde::{Deserialize, Serialize};

use crate::augment::AugmentConfig;
use crate::backbone::{BackboneKind, Features, RowKind};
use crate::head::{HeadConfig, MAX_CLASSES, MAX_HIDDEN};

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

    /// The settings of a head TF.js layers can express, trained for an export on the rows these
    /// settings cached (`augment`): Teachable Machine's head (Dense(100, ReLU) → Dense(classes))
    /// on the pooled embedding, no fine-tuned blocks; the rest as these.
    pub fn layers_head(&self, augment: &AugmentConfig) -> Self {
        Self {
            head: HeadConfig::default(),
            features: Features::Pooled,
            finetune_blocks: 0,
            augment: augment.clone(),
            ..self.clone()
        }
    }

    /// The seed of augmented views computed ahead of a training (while the app is idle, or by
    /// the embedding pool): the default settings' own, so that a training with them finds the
    /// views valid.
    pub fn ahead_views_seed() -> u64 {
        Self::default().seed
    }
}

/// An inclusive range of a setting.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range<T> {
    /// Smallest value.
    pub min: T,
    /// Largest value.
    pub max: T,
}

impl<T: PartialOrd + Copy> Range<T> {
    /// `value`, brought into the range.
    pub fn clamp(&self, value: T) -> T {
        if value < self.min {
            self.min
        } else if value > self.max {
            self.max
        } else {
            value
        }
    }

    /// Whether `value` is in the range.
    pub fn contains(&self, value: T) -> bool {
        self.min <= value && value <= self.max
    }
}

const fn range<T>(min: T, max: T) -> Range<T> {
    Range { min, max }
}

/// The range of each setting a person chooses (see [`LIMITS`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Passes over the training rows.
    pub epochs: Range<usize>,
    /// Rows per mini-batch.
    pub batch_size: Range<usize>,
    /// Adam's learning rate.
    pub learning_rate: Range<f64>,
    /// Hidden units of the MLP head.
    pub hidden: Range<usize>,
    /// Neighbours that vote in KNN mode.
    pub k: Range<usize>,
    /// Augmented views per sample.
    pub views: Range<usize>,
    /// Backbone blocks fine-tuned with the head.
    pub finetune_blocks: Range<usize>,
    /// Classes of one classifier (and project).
    pub classes: Range<usize>,
}

/// The limits of every setting.
pub const LIMITS: Limits = Limits {
    epochs: range(1, 1000),
    batch_size: range(1, 512),
    learning_rate: range(1e-6, 1.0),
    hidden: range(1, MAX_HIDDEN),
    k: range(1, 50),
    views: range(0, 16),
    finetune_blocks: range(0, 8),
    classes: range(2, MAX_CLASSES),
};
