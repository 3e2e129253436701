//! The trained-model file (`docs/model-format.md`) against hostile input: descriptions that claim
//! huge sizes or do not fit the backbone, labels that do not match the weights, NaN weights, and
//! thousands of mutated files are refused with a message before anything large is allocated;
//! loading never panics.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Instant;

use common::{XorShift, cpu, pretrained, sign_digits};
use magpie::augment::AugmentConfig;
use magpie::backbone::{BackboneKind, Features};
use magpie::classifier::{self, Classifier, ClassifierError};
use magpie::head::{HeadConfig, HeadKind};
use magpie::train_config::TrainConfig;
use magpie::training::{CancelToken, Stages, fit};
use magpie::weights::PretrainedBackbone;
use pollster::block_on;

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
        let stages = Stages {
            backbone: cpu(),
            head: cpu(),
        };
        let fitted = block_on(fit(
            &model.backbone,
            &sign_digits(2),
            &config,
            &stages,
            &mut |_| {},
            &CancelToken::default(),
        ))
        .unwrap();
        let record = classifier::save(&fitted.classifier).unwrap();
        Fixture {
            model,
            classifier: fitted.classifier,
            record,
        }
    })
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
