//! Few-shot training on real photos (Sign Language Digits) with real pretrained backbones: every
//! head on every backbone, KNN, fine-tuning, cancellation, bad datasets and the model record.

mod common;

use common::{cpu, pretrained, sign_digits};
use magpie::augment::AugmentConfig;
use magpie::backbone::{Backbone, BackboneKind, Features, RowKind};
use magpie::classifier;
use magpie::dataset::{Dataset, DatasetError, Sample, few_shot_split};
use magpie::head::{HeadConfig, HeadKind};
use magpie::train_config::TrainConfig;
use magpie::training::{
    CancelToken, Embedder, EmbeddingCache, Entry, Job, Rows, Stages, StopReason, TrainError,
    evaluate_rows, fit, fit_rows,
};
use pollster::block_on;

const SHOTS: usize = 10;
const TEST_PER_CLASS: usize = 20;

/// Cached `rows` of the photos of a 10-shot split: training rows (with `views` augmented views
/// each) and test rows.
struct FewShot {
    dataset: Dataset,
    cache: EmbeddingCache,
    train: Vec<usize>,
    test: Vec<usize>,
}

fn few_shot(backbone: &Backbone, views: usize, rows: RowKind) -> FewShot {
    let dataset = sign_digits(SHOTS + TEST_PER_CLASS);
    let split = few_shot_split(&dataset.classes(), SHOTS, TEST_PER_CLASS, 0);
    let job = |sample: usize, views: usize| Job {
        image: dataset.samples[sample].image.view(),
        entry: Entry {
            sample,
            class: dataset.samples[sample].class,
            view: 0,
        },
        from_view: 0,
        views,
    };
    let jobs: Vec<Job<'_>> = split
        .train
        .iter()
        .map(|&s| job(s, views))
        .chain(split.test.iter().map(|&s| job(s, 0)))
        .collect();
    let mut cache = EmbeddingCache::default();
    let embedder = Embedder {
        backbone,
        rows,
        device: &cpu(),
    };
    block_on(embedder.embed(
        &jobs,
        &AugmentConfig::default(),
        0,
        &mut cache,
        &CancelToken::default(),
    ))
    .unwrap();
    let (train, test) =
        (0..cache.len()).partition(|&r| split.train.contains(&cache.entries()[r].sample));
    drop(jobs);
    FewShot {
        dataset,
        cache,
        train,
        test,
    }
}

fn config(head: HeadKind) -> TrainConfig {
    TrainConfig {
        head: HeadConfig::of(head),
        validation_fraction: 0.0,
        augment: AugmentConfig {
            views: 2,
            ..AugmentConfig::default()
        },
        ..TrainConfig::default()
    }
}

/// Pooled rows for a backbone that has spatial ones too.
const POOLED: RowKind = RowKind::Pooled;

fn accuracy(data: &FewShot, backbone: &Backbone, config: &TrainConfig) -> f32 {
    let rows = Rows {
        train: &data.train,
        validation: &[],
    };
    let fitted = block_on(fit_rows(
        &data.cache,
        rows,
        &data.dataset.labels,
        backbone,
        config,
        &cpu(),
        &mut |_| {},
        &CancelToken::default(),
    ))
    .unwrap();
    let evaluation = block_on(evaluate_rows(
        &fitted.classifier,
        &data.cache,
        &data.test,
        &|s| data.dataset.samples[s].id.as_str(),
    ))
    .unwrap();
    assert_eq!(evaluation.count, 10 * TEST_PER_CLASS);
    evaluation.accuracy
}

/// 10-shot accuracy on 200 held-out photos (seed 0; two augmented views per training photo;
/// the default features) must clear these floors, set a few points under what was measured
/// (chance is 0.10). The first 30 photos of each class come from few people, so this is harder
/// than the benchmark.
fn check_backbone(kind: BackboneKind, floors: [f32; 3]) {
    let model = pretrained(kind, &cpu());
    let data = few_shot(&model.backbone, 2, TrainConfig::default().rows(kind));
    for (head, floor) in [HeadKind::Linear, HeadKind::Mlp, HeadKind::Knn]
        .into_iter()
        .zip(floors)
    {
        let accuracy = accuracy(&data, &model.backbone, &config(head));
        eprintln!("{kind} {head}: 10-shot accuracy {accuracy:.3}");
        assert!(
            accuracy >= floor,
            "{kind} {head}: 10-shot accuracy {accuracy:.3} < {floor}"
        );
    }
}

#[test]
fn ten_shot_sign_digits_mobilenet_v2() {
    // Measured (spatial features): linear 0.765, MLP 0.775, KNN 0.615 (pooled: 0.705, 0.730, 0.590).
    check_backbone(BackboneKind::MobilenetV2, [0.70, 0.71, 0.55]);
}

#[test]
fn ten_shot_sign_digits_efficientnet_lite0() {
    // Measured (spatial features): linear 0.810, MLP 0.795, KNN 0.645 (pooled: 0.735, 0.760, 0.530).
    check_backbone(BackboneKind::EfficientnetLite0, [0.74, 0.73, 0.58]);
}

#[test]
fn ten_shot_sign_digits_mobilenet_v1_025() {
    // Measured: linear 0.730, MLP 0.770, KNN 0.590.
    check_backbone(BackboneKind::MobilenetV1025, [0.62, 0.68, 0.52]);
}

#[test]
fn knn_recalls_its_examples_and_classifies_new_photos() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let data = few_shot(&model.backbone, 0, POOLED);
    let config = TrainConfig {
        head: HeadConfig {
            kind: HeadKind::Knn,
            k: 1,
            ..HeadConfig::default()
        },
        ..config(HeadKind::Knn)
    };
    let rows = Rows {
        train: &data.train,
        validation: &[],
    };
    let fitted = block_on(fit_rows(
        &data.cache,
        rows,
        &data.dataset.labels,
        &model.backbone,
        &config,
        &cpu(),
        &mut |_| {},
        &CancelToken::default(),
    ))
    .unwrap();
    let ids = |s: usize| data.dataset.samples[s].id.as_str();
    let recall = block_on(evaluate_rows(
        &fitted.classifier,
        &data.cache,
        &data.train,
        &ids,
    ))
    .unwrap();
    assert_eq!(
        recall.accuracy, 1.0,
        "1-NN must recognise every stored example"
    );
    let held_out = block_on(evaluate_rows(
        &fitted.classifier,
        &data.cache,
        &data.test,
        &ids,
    ))
    .unwrap();
    assert!(
        held_out.accuracy > 0.5,
        "KNN held-out accuracy {}",
        held_out.accuracy
    );
    // Every misclassified photo is listed in its confusion cell.
    let wrong: usize = (0..10)
        .flat_map(|t| (0..10).filter(move |&p| p != t).map(move |p| (t, p)))
        .map(|(t, p)| held_out.cells[t][p].len())
        .sum();
    assert_eq!(
        wrong,
        held_out.count - (held_out.accuracy * held_out.count as f32).round() as usize
    );
}

#[test]
fn cancel_stops_training_within_one_batch() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let data = few_shot(&model.backbone, 0, POOLED);
    let cancel = CancelToken::default();
    let mut epochs_seen = 0;
    let mut progress = |_: &magpie::training::EpochReport| {
        epochs_seen += 1;
        if epochs_seen == 2 {
            cancel.cancel();
        }
    };
    let config = TrainConfig {
        batch_size: 16,
        ..config(HeadKind::Mlp)
    };
    let rows = Rows {
        train: &data.train,
        validation: &[],
    };
    let fitted = block_on(fit_rows(
        &data.cache,
        rows,
        &data.dataset.labels,
        &model.backbone,
        &config,
        &cpu(),
        &mut progress,
        &cancel,
    ))
    .unwrap();
    let per_epoch = data.train.len().div_ceil(16);
    assert_eq!(fitted.stop, StopReason::Cancelled);
    assert_eq!(fitted.history.len(), 2);
    assert_eq!(
        fitted.batches,
        2 * per_epoch,
        "no batch may run after cancel"
    );

    // Cancelling while embedding stops before the next batch of images, with an error.
    let cancelled = CancelToken::default();
    cancelled.cancel();
    let dataset = sign_digits(2);
    let result = block_on(fit(
        &model.backbone,
        &dataset,
        &config,
        &Stages {
            backbone: cpu(),
            head: cpu(),
        },
        &mut |_| {},
        &cancelled,
    ));
    assert_eq!(result.unwrap_err(), TrainError::Cancelled);
}

#[test]
fn degenerate_datasets_give_clear_errors() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let stages = Stages {
        backbone: cpu(),
        head: cpu(),
    };
    let run = |dataset: &Dataset| {
        block_on(fit(
            &model.backbone,
            dataset,
            &TrainConfig::default(),
            &stages,
            &mut |_| {},
            &CancelToken::default(),
        ))
        .unwrap_err()
    };
    let mut dataset = sign_digits(3);
    let photo = dataset.samples[0].image.clone();
    assert_eq!(
        run(&Dataset::default()),
        TrainError::Dataset(DatasetError::NoClasses)
    );
    let one = Dataset {
        labels: vec!["fist".into()],
        samples: vec![Sample {
            id: "a".into(),
            class: 0,
            image: photo,
        }],
    };
    let error = run(&one);
    assert!(
        error.to_string().contains("only one class ('fist')"),
        "{error}"
    );
    dataset.labels.push("nothing".into());
    let error = run(&dataset);
    assert_eq!(
        error,
        TrainError::Dataset(DatasetError::EmptyClass("nothing".into()))
    );
    assert!(error.to_string().contains("'nothing' has no examples"));
    let too_deep = TrainConfig {
        finetune_blocks: 99,
        ..TrainConfig::default()
    };
    dataset.labels.pop();
    let error = block_on(fit(
        &model.backbone,
        &dataset,
        &too_deep,
        &stages,
        &mut |_| {},
        &CancelToken::default(),
    ))
    .unwrap_err();
    assert!(matches!(error, TrainError::Config(_)), "{error}");
}

#[test]
fn fit_validates_stops_early_and_the_record_round_trips() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let dataset = sign_digits(20);
    let config = TrainConfig {
        epochs: 200,
        patience: 5,
        augment: AugmentConfig {
            views: 1,
            ..Default::default()
        },
        ..TrainConfig::default()
    };
    let stages = Stages {
        backbone: cpu(),
        head: cpu(),
    };
    let mut reports = Vec::new();
    let fitted = block_on(fit(
        &model.backbone,
        &dataset,
        &config,
        &stages,
        &mut |r| reports.push(r.clone()),
        &CancelToken::default(),
    ))
    .unwrap();
    // 15 % of 20 per class held out: 3 per class.
    let validation = fitted.validation.as_ref().unwrap();
    assert_eq!(validation.count, 30);
    assert!(
        reports
            .iter()
            .all(|r| r.val_loss.is_some() && r.val_accuracy.is_some())
    );
    assert_eq!(
        fitted.stop,
        StopReason::EarlyStopped,
        "200 epochs on 170 photos must stop early"
    );
    assert!(reports.len() < 200);
    assert!(
        validation.accuracy > 0.5,
        "validation accuracy {}",
        validation.accuracy
    );

    let bytes = classifier::save(&fitted.classifier).unwrap();
    let loaded = classifier::load(bytes.clone(), &model.backbone, &cpu()).unwrap();
    assert_eq!(loaded.info, fitted.classifier.info);
    let photos: Vec<_> = dataset
        .samples
        .iter()
        .take(5)
        .map(|s| s.image.view())
        .collect();
    let before = block_on(
        fitted
            .classifier
            .probabilities(&model.backbone, &photos, &cpu()),
    )
    .unwrap();
    let after = block_on(loaded.probabilities(&model.backbone, &photos, &cpu())).unwrap();
    assert_eq!(before, after);
    // A record is refused by another backbone, and garbage is refused with a message.
    let other = Backbone::init(BackboneKind::MobilenetV2, &cpu());
    assert!(
        classifier::load(bytes, &other, &cpu())
            .unwrap_err()
            .to_string()
            .contains("needs backbone mobilenet_v1_025")
    );
    assert!(
        classifier::load(vec![1, 2, 3], &model.backbone, &cpu())
            .unwrap_err()
            .to_string()
            .contains("not a magpie model file")
    );
}

#[test]
fn fine_tuning_trains_the_last_blocks_and_round_trips() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let data = few_shot(&model.backbone, 1, RowKind::TailInput(2));
    assert_eq!(
        data.cache.shape.len(),
        3,
        "fine-tune mode caches the tail's input activations"
    );
    let config = TrainConfig {
        finetune_blocks: 2,
        epochs: 15,
        ..config(HeadKind::Mlp)
    };
    let rows = Rows {
        train: &data.train,
        validation: &[],
    };
    let fitted = block_on(fit_rows(
        &data.cache,
        rows,
        &data.dataset.labels,
        &model.backbone,
        &config,
        &cpu(),
        &mut |_| {},
        &CancelToken::default(),
    ))
    .unwrap();
    let ids = |s: usize| data.dataset.samples[s].id.as_str();
    let evaluation = block_on(evaluate_rows(
        &fitted.classifier,
        &data.cache,
        &data.test,
        &ids,
    ))
    .unwrap();
    assert!(
        evaluation.accuracy > 0.5,
        "fine-tuned accuracy {}",
        evaluation.accuracy
    );
    // The tail moved away from the pretrained blocks.
    let tail = fitted.classifier.tail.clone().expect("a fine-tuned tail");
    let pretrained_tail = model.backbone.tail(2);
    let flat = |t: magpie::backbone::BackboneTail| -> Vec<f32> {
        let magpie::backbone::BackboneTail::MobileNetV1(t) = t else {
            panic!("V1 tail")
        };
        t.blocks[1]
            .pointwise
            .conv
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    let (a, b) = (flat(tail), flat(pretrained_tail));
    assert!(
        a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-6),
        "fine-tuning must change the tail"
    );
    let bytes = classifier::save(&fitted.classifier).unwrap();
    let loaded = classifier::load(bytes, &model.backbone, &cpu()).unwrap();
    let photos: Vec<_> = data
        .dataset
        .samples
        .iter()
        .take(3)
        .map(|s| s.image.view())
        .collect();
    let before = block_on(
        fitted
            .classifier
            .probabilities(&model.backbone, &photos, &cpu()),
    )
    .unwrap();
    let after = block_on(loaded.probabilities(&model.backbone, &photos, &cpu())).unwrap();
    assert_eq!(before, after);
}

#[test]
fn fewer_views_are_a_prefix_of_more_views() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let dataset = sign_digits(2);
    let jobs = |views| Job::all(&dataset, move |_| views);
    let embed = |views: usize| {
        let mut cache = EmbeddingCache::default();
        let embedder = Embedder {
            backbone: &model.backbone,
            rows: POOLED,
            device: &cpu(),
        };
        let augment = AugmentConfig {
            views,
            ..AugmentConfig::default()
        };
        block_on(embedder.embed(
            &jobs(views),
            &augment,
            0,
            &mut cache,
            &CancelToken::default(),
        ))
        .unwrap();
        cache
    };
    let mut four = embed(4);
    assert_eq!(four.len(), dataset.samples.len() * 5);
    four.keep_views(2);
    let two = embed(2);
    assert_eq!(four.entries(), two.entries());
    assert!(
        four.values().eq(two.values()),
        "the views kept equal views computed afresh"
    );
    four.keep_views(0);
    assert_eq!(four.len(), dataset.samples.len());
}

#[test]
fn spatial_features_beat_pooled_ones_and_round_trip() {
    let model = pretrained(BackboneKind::MobilenetV2, &cpu());
    let pooled = few_shot(&model.backbone, 0, POOLED);
    let spatial = few_shot(&model.backbone, 0, RowKind::Spatial);
    assert_eq!(spatial.cache.shape, [1280 + 160 * 7 * 7]);
    for head in [HeadKind::Linear, HeadKind::Mlp] {
        let before = accuracy(
            &pooled,
            &model.backbone,
            &TrainConfig {
                features: Features::Pooled,
                ..config(head)
            },
        );
        let after = accuracy(&spatial, &model.backbone, &config(head));
        eprintln!("{head}: 10-shot accuracy pooled {before:.3}, spatial {after:.3}");
        assert!(
            after >= before + 0.03,
            "{head}: spatial {after:.3} is not clearly above pooled {before:.3}"
        );
    }
    // The record keeps the normalization: a loaded classifier gives the same probabilities.
    let rows = Rows {
        train: &spatial.train,
        validation: &[],
    };
    let config = TrainConfig {
        epochs: 10,
        ..config(HeadKind::Linear)
    };
    let fitted = block_on(fit_rows(
        &spatial.cache,
        rows,
        &spatial.dataset.labels,
        &model.backbone,
        &config,
        &cpu(),
        &mut |_| {},
        &CancelToken::default(),
    ))
    .unwrap();
    assert_eq!(fitted.classifier.info.features, Features::Spatial);
    let loaded = classifier::load(
        classifier::save(&fitted.classifier).unwrap(),
        &model.backbone,
        &cpu(),
    )
    .unwrap();
    assert_eq!(loaded.info, fitted.classifier.info);
    assert_eq!(loaded.info.feature_dim, 9120);
    assert_eq!(loaded.norm.as_ref().map(|n| n.mean.dims()), Some([9120]));
    let photos: Vec<_> = spatial
        .dataset
        .samples
        .iter()
        .take(3)
        .map(|s| s.image.view())
        .collect();
    let before = block_on(
        fitted
            .classifier
            .probabilities(&model.backbone, &photos, &cpu()),
    )
    .unwrap();
    let after = block_on(loaded.probabilities(&model.backbone, &photos, &cpu())).unwrap();
    assert_eq!(before, after);
    // MobileNetV1 has no spatial map: the same settings train on pooled rows there.
    assert_eq!(config.rows(BackboneKind::MobilenetV1025), POOLED);
}
