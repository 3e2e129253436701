//! Instant, then better: when a head is to be trained, a cosine KNN model on the frames already
//! embedded goes live first (it needs no training, so a person sees predictions at once), and
//! the trained head replaces it only when it does at least as well on the held-out samples.

use super::Evaluation;
use crate::augment::AugmentConfig;
use crate::head::{HeadConfig, HeadKind};
use crate::train_config::TrainConfig;

/// Samples past which no instant model is made: KNN keeps a row per sample and compares each
/// frame with all of them (2,000 MobileNetV2 spatial rows take 73 MB as f32).
pub const INSTANT_MAX_SAMPLES: usize = 2_000;

/// The settings of the instant model that goes live before `config`'s head is trained on
/// `samples` samples: KNN with `config`'s `k`, split and rows, on the frames alone (their views
/// come later). `None` when there is nothing to train first (a KNN head), when KNN cannot read
/// the rows (fine-tuned blocks), or past [`INSTANT_MAX_SAMPLES`].
pub fn instant_config(config: &TrainConfig, samples: usize) -> Option<TrainConfig> {
    if config.head.kind == HeadKind::Knn
        || config.finetune_blocks > 0
        || samples > INSTANT_MAX_SAMPLES
    {
        return None;
    }
    Some(TrainConfig {
        head: HeadConfig {
            k: config.head.k,
            ..HeadConfig::of(HeadKind::Knn)
        },
        augment: AugmentConfig {
            views: 0,
            ..config.augment.clone()
        },
        ..config.clone()
    })
}

/// Whether the trained head replaces the instant model: it does unless both were validated
/// and the head got fewer held-out samples right.
pub fn head_replaces_instant(instant: Option<&Evaluation>, head: Option<&Evaluation>) -> bool {
    match (instant, head) {
        (Some(instant), Some(head)) => head.accuracy >= instant.accuracy,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(right: usize, of: usize) -> Evaluation {
        let outcomes = (0..of).map(|i| (0, usize::from(i >= right), "s"));
        Evaluation::new(outcomes, 2)
    }

    #[test]
    fn the_instant_model_is_knn_on_frames_with_the_same_split_and_rows() {
        let config = TrainConfig::default();
        let instant =
            instant_config(&config, 120).expect("an MLP head trains after an instant model");
        assert_eq!(instant.head.kind, HeadKind::Knn);
        assert_eq!(instant.head.k, config.head.k);
        assert_eq!(instant.augment.views, 0);
        assert_eq!(instant.features, config.features);
        assert_eq!(
            (instant.seed, instant.validation_fraction),
            (config.seed, config.validation_fraction)
        );
        let knn = TrainConfig {
            head: HeadConfig::of(HeadKind::Knn),
            ..TrainConfig::default()
        };
        assert_eq!(instant_config(&knn, 120), None, "KNN is instant already");
        assert_eq!(instant_config(&config, INSTANT_MAX_SAMPLES + 1), None);
        let finetune = TrainConfig {
            finetune_blocks: 1,
            ..TrainConfig::default()
        };
        assert_eq!(instant_config(&finetune, 120), None);
    }

    #[test]
    fn the_head_replaces_the_instant_model_unless_it_does_worse() {
        let (worse, same, better) = (evaluation(3, 6), evaluation(4, 6), evaluation(6, 6));
        assert!(head_replaces_instant(Some(&same), Some(&same)));
        assert!(head_replaces_instant(Some(&same), Some(&better)));
        assert!(!head_replaces_instant(Some(&same), Some(&worse)));
        assert!(
            head_replaces_instant(None, Some(&worse)),
            "no instant model"
        );
        assert!(
            head_replaces_instant(Some(&better), None),
            "nothing held out"
        );
    }
}
