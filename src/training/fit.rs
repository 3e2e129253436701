//! The training pipeline: validate the examples, split off validation, embed every view once,
//! train the head (or build KNN), and evaluate on the held-out samples.

use burn::module::Module;
use burn::tensor::Device;

use super::span::{self, Span};
use super::trainer::{
    EpochReport, HeadInputs, ROWS_AT_ONCE, Rows, StopReason, TrainNet, head_inputs, train,
};
use super::{
    CancelToken, Embedder, EmbeddingCache, Evaluation, Job, TrainError, affordable_views, argmax,
};
use crate::backbone::Backbone;
use crate::backbone::RowKind;
use crate::classifier::unsure::{calibrated_threshold, default_threshold};
use crate::classifier::{Classifier, ClassifierInfo, Head, Preprocessing, RECORD_VERSION};
use crate::dataset::{Dataset, validation_split};
use crate::head::{FeatureNorm, HeadKind, KnnHead};
use crate::train_config::{LIMITS, TrainConfig};

/// Where each stage runs: the backbone (embedding) and the head (training).
#[derive(Debug, Clone)]
pub struct Stages {
    /// Device of the frozen backbone.
    pub backbone: Device,
    /// Device of head training (and fine-tuned blocks).
    pub head: Device,
}

/// The outcome of training.
#[derive(Debug)]
pub struct Fitted {
    /// The classifier, on the head device.
    pub classifier: Classifier,
    /// One report per epoch (empty for KNN).
    pub history: Vec<EpochReport>,
    /// Why training ended.
    pub stop: StopReason,
    /// Mini-batch steps taken.
    pub batches: usize,
    /// Results on the validation split, when there is one.
    pub validation: Option<Evaluation>,
}

fn check(config: &TrainConfig, backbone: &Backbone) -> Result<(), TrainError> {
    let fail = |problem: String| Err(TrainError::Config(problem));
    let trained = config.head.kind != HeadKind::Knn;
    let mut counts = vec![
        ("augmented views", LIMITS.views, config.augment.views),
        (
            "fine-tuned blocks",
            LIMITS.finetune_blocks,
            config.finetune_blocks,
        ),
    ];
    if trained {
        counts.push(("epochs", LIMITS.epochs, config.epochs));
        counts.push(("the batch size", LIMITS.batch_size, config.batch_size));
    }
    match config.head.kind {
        HeadKind::Mlp => counts.push(("hidden units", LIMITS.hidden, config.head.hidden)),
        HeadKind::Knn => counts.push(("k", LIMITS.k, config.head.k)),
        HeadKind::Linear => {}
    }
    if let Some((name, range, value)) = counts.into_iter().find(|(_, r, v)| !r.contains(*v)) {
        return fail(format!(
            "{name} must be {} to {}, not {value}",
            range.min, range.max
        ));
    }
    if config.finetune_blocks > backbone.num_blocks() {
        return fail(format!(
            "{} has {} blocks to fine-tune, not {}",
            backbone.kind,
            backbone.num_blocks(),
            config.finetune_blocks
        ));
    }
    if !trained && config.finetune_blocks > 0 {
        return fail("the KNN head is not trained, so it cannot fine-tune the backbone".into());
    }
    if !(0.0..1.0).contains(&config.head.dropout) {
        return fail(format!(
            "dropout must be in [0, 1), not {}",
            config.head.dropout
        ));
    }
    if !(0.0..1.0).contains(&config.validation_fraction) {
        return fail("the validation fraction must be in [0, 1)".into());
    }
    let rate = LIMITS.learning_rate;
    if !rate.contains(config.learning_rate) {
        return fail(format!(
            "the learning rate must be {} to {}, not {}",
            rate.min, rate.max, config.learning_rate
        ));
    }
    Ok(())
}

/// Trains a classifier on `dataset` from its raw frames: embeds each sample's views (as many as
/// [`affordable_views`] keeps), then [`fit_cached`].
pub async fn fit(
    backbone: &Backbone,
    dataset: &Dataset,
    config: &TrainConfig,
    stages: &Stages,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &CancelToken,
) -> Result<Fitted, TrainError> {
    dataset.validate()?;
    check(config, backbone)?;
    let split = validation_split(&dataset.classes(), config.validation_fraction, config.seed);
    let mut views = vec![0; dataset.samples.len()];
    let kept = affordable_views(config.augment.views, dataset.samples.len());
    split.train.iter().for_each(|&s| views[s] = kept);
    let jobs = Job::all(dataset, |i| views[i]);
    let mut cache = EmbeddingCache::default();
    let embedder = Embedder {
        backbone,
        rows: config.rows(backbone.kind),
        device: &stages.backbone,
    };
    embedder
        .embed(&jobs, &config.augment, config.seed, &mut cache, cancel)
        .await?;
    fit_cached(
        &cache,
        dataset,
        backbone,
        config,
        &stages.head,
        progress,
        cancel,
    )
    .await
}

/// Trains on a cache of `dataset`'s views (row `sample`s index `dataset.samples`): splits off
/// validation per class, trains on the training samples' views up to `config.augment.views`,
/// evaluates on the held-out samples' frames and calibrates the "not sure" threshold on them.
pub async fn fit_cached<F>(
    cache: &EmbeddingCache,
    dataset: &Dataset<F>,
    backbone: &Backbone,
    config: &TrainConfig,
    device: &Device,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &CancelToken,
) -> Result<Fitted, TrainError> {
    dataset.validate()?;
    let split = validation_split(&dataset.classes(), config.validation_fraction, config.seed);
    let mut in_train = vec![false; dataset.samples.len()];
    split.train.iter().for_each(|&s| in_train[s] = true);
    let (mut train_rows, mut validation_rows) = (Vec::new(), Vec::new());
    for (row, entry) in cache.entries().iter().enumerate() {
        match in_train.get(entry.sample) {
            Some(true) if entry.view <= config.augment.views => train_rows.push(row),
            Some(false) if entry.view == 0 => validation_rows.push(row),
            _ => {}
        }
    }
    let rows = Rows {
        train: &train_rows,
        validation: &validation_rows,
    };
    let mut fitted = fit_rows(
        cache,
        rows,
        &dataset.labels,
        backbone,
        config,
        device,
        progress,
        cancel,
    )
    .await?;
    if !validation_rows.is_empty() {
        let ids = |sample: usize| dataset.samples[sample].id.as_str();
        let outcomes = outcomes(&fitted.classifier, cache, &validation_rows).await?;
        fitted.validation = Some(evaluation(&outcomes, &fitted.classifier, &ids));
        // "Not sure" below what the held-out samples named right reach.
        let right: Vec<f32> = outcomes
            .iter()
            .filter(|o| o.truth == o.predicted)
            .map(|o| o.confidence)
            .collect();
        let classes = dataset.labels.len();
        fitted.classifier.info.unsure_below = Some(calibrated_threshold(&right, classes));
    }
    Ok(fitted)
}

/// Trains a classifier on cached rows (the few-shot benchmark and the web app, which keep
/// their own caches, start here).
#[allow(clippy::too_many_arguments)]
pub async fn fit_rows(
    cache: &EmbeddingCache,
    rows: Rows<'_>,
    labels: &[String],
    backbone: &Backbone,
    config: &TrainConfig,
    device: &Device,
    progress: &mut dyn FnMut(&EpochReport),
    cancel: &CancelToken,
) -> Result<Fitted, TrainError> {
    check(config, backbone)?;
    let classes = labels.len();
    let row_kind = config.rows(backbone.kind);
    let feature_dim = row_kind.head_input(backbone.kind);
    let width = cache.row_len();
    if !matches!(row_kind, RowKind::TailInput(_)) && width != feature_dim && !cache.is_empty() {
        return Err(TrainError::Config(format!(
            "cached rows have {width} values, the {} rows {feature_dim}",
            row_kind.features()
        )));
    }
    let mut info = ClassifierInfo {
        version: RECORD_VERSION,
        backbone: backbone.kind,
        labels: labels.to_vec(),
        preprocessing: Preprocessing::of(backbone.kind),
        tail_blocks: config.finetune_blocks,
        features: row_kind.features(),
        knn_classes: Vec::new(),
        knn_votes: 0,
        feature_dim,
        training: config.clone(),
        unsure_below: Some(default_threshold(classes)),
    };
    // An MLP on few samples of a wide embedding trains on coordinates in a basis of their
    // frames and mean views (see `span`); the rest on the rows as they are.
    let entries: Vec<_> = rows.train.iter().map(|&r| cache.entries()[r]).collect();
    let groups = span::basis_groups(&entries);
    let in_span = config.finetune_blocks == 0
        && config.head.kind == HeadKind::Mlp
        && span::worth_it(groups.len(), feature_dim);
    let spatial = row_kind == RowKind::Spatial && !rows.train.is_empty();
    // The span's rows are read once, rooted once for the normalization's mean and their values.
    let span_rows = in_span.then(|| {
        let x = cache.tensor(rows.train, device);
        if spatial { FeatureNorm::root(x) } else { x }
    });
    let pooled = backbone.kind.feature_dim();
    let norm = spatial.then(|| match &span_rows {
        Some(rooted) => FeatureNorm::fit_rooted([rooted.clone()], pooled),
        None => FeatureNorm::fit_rooted(
            rows.train
                .chunks(ROWS_AT_ONCE)
                .map(|chunk| FeatureNorm::root(cache.tensor(chunk, device))),
            pooled,
        ),
    });
    if config.head.kind == HeadKind::Knn {
        info.knn_classes = rows
            .train
            .iter()
            .map(|&r| cache.entries()[r].class)
            .collect();
        // `k` counts samples: each stored sample's views vote together.
        let mut samples: Vec<usize> = rows
            .train
            .iter()
            .map(|&r| cache.entries()[r].sample)
            .collect();
        samples.sort_unstable();
        samples.dedup();
        info.knn_votes = config.head.k * rows.train.len().div_ceil(samples.len().max(1));
        let train_rows = head_inputs(cache, rows.train, norm.as_ref(), device);
        let knn = KnnHead::new(
            train_rows,
            info.knn_classes.clone(),
            classes,
            info.knn_votes,
        );
        let classifier = Classifier {
            info,
            tail: None,
            norm,
            head: Head::Knn(knn),
            device: device.clone(),
        };
        return Ok(Fitted {
            classifier,
            history: Vec::new(),
            stop: StopReason::Completed,
            batches: 0,
            validation: None,
        });
    }
    let tail =
        (config.finetune_blocks > 0).then(|| backbone.tail(config.finetune_blocks).fork(device));
    let span = match span_rows {
        Some(x) => {
            let x = match &norm {
                Some(norm) => norm.forward_rooted(x),
                None => x,
            };
            Span::fit(x, &groups).await?
        }
        None => None,
    };
    let validation = match &span {
        Some((span, _)) if !rows.validation.is_empty() => Some(
            span.coordinates(head_inputs(cache, rows.validation, norm.as_ref(), device))
                .await?,
        ),
        _ => None,
    };
    let inputs = match &span {
        Some((_, train)) => HeadInputs::Span {
            train,
            validation: validation.as_ref(),
        },
        None => HeadInputs::Rows(norm.as_ref()),
    };
    let input = span
        .as_ref()
        .map_or(feature_dim, |(_, train)| train.dims()[1]);
    let head = config
        .head
        .init(input, classes, config.seed, device)
        .ok_or_else(|| TrainError::Config("no trainable head".into()))?;
    let mut trained = train(
        cache,
        rows,
        TrainNet { tail, head },
        inputs,
        config,
        device,
        progress,
        cancel,
    )
    .await?;
    if let Some((span, _)) = &span {
        trained.net.head = span.lift(trained.net.head).await?;
    }
    let classifier = Classifier {
        info,
        tail: trained.net.tail,
        norm,
        head: Head::Trained(trained.net.head),
        device: device.clone(),
    };
    Ok(Fitted {
        classifier,
        history: trained.history,
        stop: trained.stop,
        batches: trained.batches,
        validation: None,
    })
}

/// Evaluates `classifier` on cached rows, naming samples with `id`.
pub async fn evaluate_rows<'a>(
    classifier: &Classifier,
    cache: &EmbeddingCache,
    rows: &[usize],
    id: &dyn Fn(usize) -> &'a str,
) -> Result<Evaluation, TrainError> {
    let outcomes = outcomes(classifier, cache, rows).await?;
    Ok(evaluation(&outcomes, classifier, id))
}

/// How a classifier did on one row.
struct Outcome {
    truth: usize,
    predicted: usize,
    /// The predicted class's probability.
    confidence: f32,
    sample: usize,
}

/// `classifier`'s answer for each of the cached `rows`.
async fn outcomes(
    classifier: &Classifier,
    cache: &EmbeddingCache,
    rows: &[usize],
) -> Result<Vec<Outcome>, TrainError> {
    let mut outcomes = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(256) {
        let probabilities = classifier
            .probabilities_of_rows(cache.tensor(chunk, &classifier.device), &cache.shape)
            .await?;
        for (&row, p) in chunk.iter().zip(&probabilities) {
            let entry = cache.entries()[row];
            let predicted = argmax(p);
            outcomes.push(Outcome {
                truth: entry.class,
                predicted,
                confidence: p[predicted],
                sample: entry.sample,
            });
        }
    }
    Ok(outcomes)
}

/// The evaluation made of `outcomes`.
fn evaluation<'a>(
    outcomes: &[Outcome],
    classifier: &Classifier,
    id: &dyn Fn(usize) -> &'a str,
) -> Evaluation {
    let outcomes = outcomes
        .iter()
        .map(|o| (o.truth, o.predicted, id(o.sample)));
    Evaluation::new(outcomes, classifier.info.labels.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::BackboneKind;
    use crate::head::HeadConfig;

    /// The message `check` gives for `config`, if it refuses it.
    fn refusal(config: TrainConfig) -> Option<String> {
        let backbone = Backbone::init(BackboneKind::MobilenetV1025, &Device::flex());
        check(&config, &backbone).err().map(|e| e.to_string())
    }

    #[test]
    fn settings_outside_the_limits_are_refused_by_name() {
        assert_eq!(refusal(TrainConfig::default()), None);
        let d = TrainConfig::default;
        let cases = [
            (
                TrainConfig { epochs: 0, ..d() },
                "epochs must be 1 to 1000, not 0",
            ),
            (
                TrainConfig {
                    batch_size: 513,
                    ..d()
                },
                "the batch size must be 1 to 512, not 513",
            ),
            (
                TrainConfig {
                    head: HeadConfig {
                        hidden: 5000,
                        ..HeadConfig::default()
                    },
                    ..d()
                },
                "hidden units must be 1 to 4096, not 5000",
            ),
            (
                TrainConfig {
                    head: HeadConfig {
                        k: 0,
                        ..HeadConfig::of(HeadKind::Knn)
                    },
                    ..d()
                },
                "k must be 1 to 50, not 0",
            ),
            (
                TrainConfig {
                    augment: crate::augment::AugmentConfig {
                        views: 17,
                        ..Default::default()
                    },
                    ..d()
                },
                "augmented views must be 0 to 16, not 17",
            ),
            (
                TrainConfig {
                    learning_rate: 2.0,
                    ..d()
                },
                "the learning rate must be 0.000001 to 1, not 2",
            ),
        ];
        for (config, message) in cases {
            let got = refusal(config).expect("refused");
            assert_eq!(got, format!("invalid training settings: {message}"));
        }
        // KNN is not trained: its epochs are not checked.
        let knn = TrainConfig {
            head: HeadConfig::of(HeadKind::Knn),
            epochs: 0,
            ..d()
        };
        assert_eq!(refusal(knn), None);
    }
}
