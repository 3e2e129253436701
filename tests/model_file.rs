//! The trained-model file (`docs/model-format.md`): the records of every head and fine-tuned
//! blocks hold the documented description and tensors, older records load; and against hostile
//! input: descriptions that claim huge sizes or do not fit the backbone, labels that do not match
//! the weights, NaN weights, and thousands of mutated files are refused with a message before
//! anything large is allocated; loading never panics.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Instant;

use common::signs_project::fixtures;
use common::{XorShift, cpu, pretrained, sign_digits};
use magpie::augment::AugmentConfig;
use magpie::backbone::{BackboneKind, Features};
use magpie::classifier::{self, Classifier, ClassifierError};
use magpie::dataset::{Dataset, Sample};
use magpie::head::{HeadConfig, HeadKind};
use magpie::image::RgbaImage;
use magpie::project::Project;
use magpie::train_config::TrainConfig;
use magpie::training::{CancelToken, Stages, fit};
use magpie::weights::PretrainedBackbone;
use pollster::block_on;
use serde_json::{Value, json};

/// MobileNetV1 0.25 and an MLP head trained on two photos of each Sign Language digit, with its
/// record.
struct Fixture {
    model: PretrainedBackbone,
    classifier: Classifier,
    record: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
        let config = TrainConfig {
            head: HeadConfig {
                kind: HeadKind::Mlp,
                hidden: 16,
                ..HeadConfig::default()
            },
            epochs: 2,
            validation_fraction: 0.0,
            augment: AugmentConfig::none(),
            ..TrainConfig::default()
        };
        let (classifier, record) = trained(&model, &sign_digits(2), &config);
        Fixture {
            model,
            classifier,
            record,
        }
    })
}

/// `config`'s head (and fine-tuned blocks) fitted on `dataset` on the CPU, with its record.
fn trained(
    model: &PretrainedBackbone,
    dataset: &Dataset,
    config: &TrainConfig,
) -> (Classifier, Vec<u8>) {
    let stages = Stages {
        backbone: cpu(),
        head: cpu(),
    };
    let fitted = block_on(fit(
        &model.backbone,
        dataset,
        config,
        &stages,
        &mut |_| {},
        &CancelToken::default(),
    ))
    .unwrap();
    let record = classifier::save(&fitted.classifier).unwrap();
    (fitted.classifier, record)
}

/// Loads `bytes` for the fixture's backbone: the model, or the error message.
fn load(bytes: Vec<u8>) -> Result<Classifier, ClassifierError> {
    classifier::load(bytes, &fixture().model.backbone, &cpu())
}

/// The record of the fixture with its description edited by `edit`.
fn described(edit: impl FnOnce(&mut Classifier)) -> Vec<u8> {
    let mut classifier = fixture().classifier.clone();
    edit(&mut classifier);
    classifier::save(&classifier).unwrap()
}

fn refused(bytes: Vec<u8>, words: &str) {
    match load(bytes) {
        Ok(_) => panic!("a model was accepted; expected an error with {words:?}"),
        Err(error) => assert!(
            matches!(error, ClassifierError::ModelFile(_)) && error.to_string().contains(words),
            "{error:?} should be a model-file error containing {words:?}"
        ),
    }
}

#[test]
fn the_fixture_record_loads() {
    let loaded = load(fixture().record.clone()).unwrap();
    assert_eq!(loaded.info, fixture().classifier.info);
}

#[test]
fn descriptions_claiming_huge_or_foreign_sizes_are_refused_before_allocating() {
    refused(
        described(|c| c.info.feature_dim = 1 << 40),
        "the model takes 1099511627776 features, but mobilenet_v1_025 gives 256",
    );
    refused(
        described(|c| c.info.training.head.hidden = 1 << 30),
        "1073741824 hidden units (1 to 4096)",
    );
    refused(
        described(|c| c.info.training.head.hidden = 4000),
        "more than the",
    );
    refused(
        described(|c| c.info.training.head.dropout = 1.5),
        "dropout 1.5 (0 to 1)",
    );
    refused(
        described(|c| c.info.features = Features::Spatial),
        "mobilenet_v1_025 has no spatial features",
    );
    refused(
        described(|c| c.info.labels = (0..5000).map(|i| format!("class {i}")).collect()),
        "5000 classes (at most 1000)",
    );
    refused(
        described(|c| c.info.labels = (0..900).map(|i| format!("class {i}")).collect()),
        "more than the",
    );
    refused(
        described(|c| {
            c.info.training.head.kind = HeadKind::Knn;
            c.info.knn_classes = vec![0; 10_000_000];
        }),
        "more than the",
    );
}

#[test]
fn labels_that_do_not_match_the_weights_are_refused() {
    // Three labels for a head with ten outputs, and eleven.
    refused(
        described(|c| c.info.labels.truncate(3)),
        "does not fit its description",
    );
    refused(
        described(|c| c.info.labels.push("eleven".into())),
        "does not fit its description",
    );
}

#[test]
fn nan_or_infinite_weights_are_refused() {
    let reader = burn::store::burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(
        fixture().record.clone(),
    ))
    .unwrap();
    let tensors = reader.into_tensors().unwrap();
    for (value, tensor) in [(f32::NAN, 0), (f32::INFINITY, tensors.len() - 1)] {
        let tensor = &tensors[tensor];
        // The tensor's first values, found in the file, and the first of them replaced.
        let data = tensor.to_bytes().unwrap();
        let mut bytes = fixture().record.clone();
        let at = bytes
            .windows(16)
            .position(|w| w == &data[..16])
            .expect("tensor data in the file");
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        refused(
            bytes,
            &format!("tensor '{}' holds NaN or infinite values", tensor.name),
        );
    }
}

#[test]
fn fuzzed_model_files_never_panic() {
    let cases = common::fuzz_cases(50_000);
    let base = &fixture().record;
    let started = Instant::now();
    let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
    let (mut accepted, mut refused, mut crashes) = (0usize, 0usize, Vec::new());
    for case in 0..cases {
        let input = mutate(&mut rng, base);
        let length = input.len();
        match catch_unwind(AssertUnwindSafe(|| {
            load(input).map(|model| classifier::save(&model).expect("an accepted model saves"))
        })) {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => crashes.push((case, length)),
        }
    }
    eprintln!(
        "model fuzz: {cases} inputs tried, {} crashes, {accepted} accepted, {refused} refused, in {:.1} s",
        crashes.len(),
        started.elapsed().as_secs_f32()
    );
    assert!(crashes.is_empty(), "panics on (case, length): {crashes:?}");
    assert!(
        refused > cases / 4,
        "the mutations reach the checks: {refused} refused"
    );
}

/// One mutation of the record `base`: damaged bytes anywhere, or a description with one number
/// or list replaced by an edge value (saved as a well-formed file, so the size checks see it).
fn mutate(rng: &mut XorShift, base: &[u8]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    match rng.below(5) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
        }
        1 => {
            // Header and description live near the start.
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len().min(2048));
                bytes[at] = rng.byte();
            }
        }
        2 => {
            let cut = rng.below(bytes.len());
            bytes.truncate(cut);
        }
        3 => {
            let at = rng.below(bytes.len().min(2048));
            let value = rng.interesting(bytes.len()).to_le_bytes();
            let width = (1 + rng.below(4)).min(bytes.len() - at);
            bytes[at..at + width].copy_from_slice(&value[..width]);
        }
        _ => {
            let mut classifier = fixture().classifier.clone();
            let edge = [0, 1, 2, 3, 255, 4096, 4097, 1 << 20, 1 << 31, usize::MAX][rng.below(10)];
            let info = &mut classifier.info;
            match rng.below(8) {
                0 => info.feature_dim = edge,
                7 => info.features = Features::Spatial,
                6 => info.training.head.dropout = [-1.0, 1.0, 2.5, f64::NAN][rng.below(4)],
                1 => info.training.head.hidden = edge,
                2 => info.labels = (0..edge.min(3000)).map(|i| i.to_string()).collect(),
                3 => info.tail_blocks = edge,
                4 => {
                    info.training.head.kind = HeadKind::Knn;
                    info.knn_classes = vec![edge; rng.below(64)];
                    info.knn_votes = edge;
                }
                _ => {
                    info.training.head.kind =
                        [HeadKind::Linear, HeadKind::Mlp, HeadKind::Knn][rng.below(3)]
                }
            }
            bytes = classifier::save(&classifier).unwrap();
        }
    }
    bytes
}

// ---------------------------------------------------------------------------------------------
// The records a project holds, as docs/model-format.md describes them.

#[test]
fn the_knn_model_record_holds_the_documented_description() {
    let record = &fixtures().project.files["model.bpk"];
    let reader = burn::store::burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(
        record.clone(),
    ))
    .unwrap();
    assert_eq!(
        &record[..4],
        b"NRUB",
        "Burnpack magic 0x4255524E, little-endian"
    );
    let info: Value = serde_json::from_str(&reader.metadata()["magpie-classifier"]).unwrap();
    let mut keys: Vec<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "backbone",
            "featureDim",
            "features",
            "knnClasses",
            "knnVotes",
            "labels",
            "preprocessing",
            "tailBlocks",
            "training",
            "unsureBelow",
            "version"
        ]
    );
    assert_eq!(info["version"], 3);
    // Nothing held out (two samples a class): "not sure" halfway between chance and certainty.
    let threshold = info["unsureBelow"].as_f64().unwrap();
    assert!((threshold - 2.0 / 3.0).abs() < 1e-6, "{threshold}");
    assert_eq!(
        info["features"], "pooled",
        "MobileNetV1 0.25 has no spatial map"
    );
    assert_eq!(info["backbone"], "mobilenet_v1_025");
    assert_eq!(info["labels"], json!(["zero", "one", "two"]));
    assert_eq!(info["featureDim"], 256);
    assert_eq!(info["knnClasses"], json!([0, 0, 1, 1, 2, 2]));
    assert_eq!(info["knnVotes"], 1);
    assert_eq!(info["tailBlocks"], 0);
    assert_eq!(info["preprocessing"]["inputSize"], 224);
    assert_eq!(info["preprocessing"]["crop"], "center-square");
    assert_eq!(info["preprocessing"]["offset"], -1.0);
    assert_eq!(info["training"]["head"]["kind"], "knn");
    assert_eq!(info["training"]["head"]["k"], 1);
    let expected = [("knn.center", vec![256]), ("knn.memory", vec![6, 256])];
    let expected: Vec<_> = expected
        .into_iter()
        .map(|(name, shape)| (name.to_string(), "F32".to_string(), shape))
        .collect();
    assert_eq!(tensors(record), expected);
    drop(reader);
    let typed = classifier::info(record).unwrap();
    assert_eq!(
        serde_json::from_value::<classifier::ClassifierInfo>(info).unwrap(),
        typed
    );
}

#[test]
fn records_before_the_not_sure_threshold_load_and_a_bad_threshold_is_refused() {
    let record = &fixtures().project.files["model.bpk"];
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let loaded = classifier::load(record.clone(), &model.backbone, &cpu()).unwrap();
    let rewritten = |version, unsure_below| {
        let mut older = loaded.clone();
        older.info.version = version;
        older.info.unsure_below = unsure_below;
        classifier::save(&older).unwrap()
    };
    // Version 2 had no threshold: it loads, and always names a class.
    let v2 = rewritten(2, None);
    let info: Value = serde_json::from_str(
        &burn::store::burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(
            v2.clone(),
        ))
        .unwrap()
        .metadata()["magpie-classifier"],
    )
    .unwrap();
    assert!(info.get("unsureBelow").is_none());
    let v2 = classifier::load(v2, &model.backbone, &cpu()).unwrap();
    assert_eq!(v2.info.threshold(), 0.0);
    for (bad, why) in [
        (rewritten(3, Some(1.5)), "not a probability"),
        (rewritten(3, Some(-0.2)), "not a probability"),
        (rewritten(4, Some(0.5)), "newer than this app's 3"),
    ] {
        let error = classifier::load(bad, &model.backbone, &cpu()).unwrap_err();
        assert!(error.to_string().contains(why), "{error}");
    }
}

/// Name, dtype and shape of every tensor of a record, in name order.
fn tensors(record: &[u8]) -> Vec<(String, String, Vec<usize>)> {
    let reader = burn::store::burn_pack::Reader::from_bytes(burn::tensor::Bytes::from_bytes_vec(
        record.to_vec(),
    ))
    .unwrap();
    let mut tensors: Vec<_> = reader
        .into_tensors()
        .unwrap()
        .into_iter()
        .map(|t| (t.name.clone(), format!("{:?}", t.dtype), t.shape.to_vec()))
        .collect();
    tensors.sort();
    tensors
}

#[test]
fn trained_heads_and_fine_tuned_blocks_are_stored_as_documented() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let project = &fixtures().project;
    let mut dataset = Dataset::default();
    for (class, entry) in project.manifest.classes.iter().enumerate() {
        dataset.labels.push(entry.name.clone());
        for sample in &entry.samples {
            let image = RgbaImage::decode(&project.files[&sample.file]).unwrap();
            dataset.samples.push(Sample {
                id: sample.id.clone(),
                class,
                image,
            });
        }
    }
    let base = TrainConfig {
        epochs: 1,
        validation_fraction: 0.0,
        augment: AugmentConfig::none(),
        ..TrainConfig::default()
    };
    let mlp = HeadConfig {
        hidden: 8,
        ..HeadConfig::of(HeadKind::Mlp)
    };
    let linear_head = vec![
        ("head.Linear.output.bias", vec![3]),
        ("head.Linear.output.weight", vec![256, 3]),
    ];
    let mlp_head = vec![
        ("head.Mlp.hidden.bias", vec![8]),
        ("head.Mlp.hidden.weight", vec![256, 8]),
        ("head.Mlp.output.bias", vec![3]),
        ("head.Mlp.output.weight", vec![8, 3]),
    ];
    let mut tail = mlp_head.clone();
    tail.extend([
        ("tail.MobileNetV1.blocks.0.depthwise.conv.bias", vec![256]),
        (
            "tail.MobileNetV1.blocks.0.depthwise.conv.weight",
            vec![256, 1, 3, 3],
        ),
        ("tail.MobileNetV1.blocks.0.pointwise.conv.bias", vec![256]),
        (
            "tail.MobileNetV1.blocks.0.pointwise.conv.weight",
            vec![256, 256, 1, 1],
        ),
    ]);
    let cases = [
        (
            TrainConfig {
                head: HeadConfig::of(HeadKind::Linear),
                ..base.clone()
            },
            linear_head,
        ),
        (
            TrainConfig {
                head: mlp.clone(),
                ..base.clone()
            },
            mlp_head,
        ),
        (
            TrainConfig {
                head: mlp,
                finetune_blocks: 1,
                ..base.clone()
            },
            tail,
        ),
    ];
    for (config, expected) in cases {
        let (_, record) = trained(&model, &dataset, &config);
        let info = classifier::info(&record).unwrap();
        assert_eq!(info.tail_blocks, config.finetune_blocks);
        assert!(info.knn_classes.is_empty() && info.knn_votes == 0);
        let expected: Vec<(String, String, Vec<usize>)> = expected
            .into_iter()
            .map(|(name, shape)| (name.to_string(), "F32".to_string(), shape))
            .collect();
        assert_eq!(
            tensors(&record),
            expected,
            "{:?} head, {} fine-tuned blocks",
            config.head.kind,
            config.finetune_blocks
        );
        // Such a record fits a project with its classes, like the KNN one.
        let mut with_model = project.clone();
        with_model.files.insert("model.bpk".into(), record);
        assert_eq!(
            Project::read(&with_model.write().unwrap()).unwrap(),
            with_model
        );
    }
}
