//! The training settings a person chooses in the app, flat as its form and the project file
//! keep them (`head`, `epochs`, `batchSize`, …), with the defaults and limits of
//! [`crate::train_config`], and their translation into a [`TrainConfig`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::augment::AugmentConfig;
use crate::backbone::Features;
use crate::head::{HeadConfig, HeadKind};
use crate::train_config::{LIMITS, Range, TrainConfig};

/// The app's training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Which head.
    pub head: HeadKind,
    /// Which backbone outputs the head reads.
    pub features: Features,
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Hidden units of the MLP head.
    pub hidden: usize,
    /// Neighbours that vote in KNN mode.
    pub k: usize,
    /// Augmented views per sample.
    pub views: usize,
    /// Backbone blocks fine-tuned with the head (ignored by KNN).
    pub finetune_blocks: usize,
}

impl Default for Settings {
    fn default() -> Self {
        let train = TrainConfig::default();
        Self {
            head: train.head.kind,
            features: train.features,
            epochs: train.epochs,
            batch_size: train.batch_size,
            learning_rate: train.learning_rate,
            hidden: train.head.hidden,
            k: train.head.k,
            views: train.augment.views,
            finetune_blocks: train.finetune_blocks,
        }
    }
}

impl Settings {
    /// Settings from what a form or a file holds: unknown keys dropped, missing or unreadable
    /// values replaced by their defaults, numbers rounded and brought into [`LIMITS`].
    pub fn clean(value: &Value) -> Self {
        let d = Self::default();
        let field = |key: &str| value.get(key);
        let count = |key: &str, range: Range<usize>, default: usize| {
            field(key)
                .and_then(number)
                .map_or(default, |n| range.clamp(n.round().max(0.0) as usize))
        };
        Self {
            head: parsed(field("head")).unwrap_or(d.head),
            features: parsed(field("features")).unwrap_or(d.features),
            epochs: count("epochs", LIMITS.epochs, d.epochs),
            batch_size: count("batchSize", LIMITS.batch_size, d.batch_size),
            learning_rate: field("learningRate")
                .and_then(number)
                .map_or(d.learning_rate, |n| LIMITS.learning_rate.clamp(n)),
            hidden: count("hidden", LIMITS.hidden, d.hidden),
            k: count("k", LIMITS.k, d.k),
            views: count("views", LIMITS.views, d.views),
            finetune_blocks: count("finetuneBlocks", LIMITS.finetune_blocks, d.finetune_blocks),
        }
    }

    /// What these settings train with.
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            head: HeadConfig {
                kind: self.head,
                hidden: self.hidden,
                k: self.k,
                ..HeadConfig::default()
            },
            features: self.features,
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            augment: AugmentConfig {
                views: self.views,
                ..AugmentConfig::default()
            },
            finetune_blocks: match self.head {
                HeadKind::Knn => 0,
                _ => self.finetune_blocks,
            },
            ..TrainConfig::default()
        }
    }
}

/// `value` read as a `T`, if it is one.
fn parsed<T: serde::de::DeserializeOwned>(value: Option<&Value>) -> Option<T> {
    value.and_then(|v| T::deserialize(v).ok())
}

/// A finite number, or a string holding one (form fields are strings).
fn number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_are_the_trainers() {
        assert_eq!(Settings::default().train_config(), TrainConfig::default());
        assert_eq!(Settings::clean(&json!({})), Settings::default());
    }

    #[test]
    fn clean_drops_bad_values_and_clamps_numbers() {
        let s = Settings::clean(&json!({
            "head": "knn", "features": "sideways", "epochs": 5000, "batchSize": "32",
            "learningRate": 0, "hidden": 12.6, "k": -4, "views": null, "finetuneBlocks": 3,
            "unknown": true,
        }));
        let d = Settings::default();
        assert_eq!(s.head, HeadKind::Knn);
        assert_eq!(s.features, d.features);
        assert_eq!(s.epochs, LIMITS.epochs.max);
        assert_eq!(s.batch_size, 32);
        assert_eq!(s.learning_rate, LIMITS.learning_rate.min);
        assert_eq!(s.hidden, 13);
        assert_eq!(s.k, LIMITS.k.min);
        assert_eq!(s.views, d.views);
        assert_eq!(s.finetune_blocks, 3);
        // KNN fine-tunes nothing.
        assert_eq!(s.train_config().finetune_blocks, 0);
        let round_trip = serde_json::to_value(&s).unwrap();
        assert_eq!(Settings::clean(&round_trip), s);
    }
}
