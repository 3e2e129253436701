//! The ONNX export run by onnxruntime (PyPI, `tests/onnx/run.py`) on real photos: every backbone,
//! the linear, MLP and KNN heads, spatial rows and fine-tuned blocks give the probabilities the
//! app computes, within 1e-4, with the labels in the file's metadata.

mod common;

use common::{cpu, onnxruntime, photo, pretrained, sign_digit_photo, trained_on_digits};
use magpie::backbone::{Backbone, BackboneKind, BackboneNet, Features, Vgg16Config};
use magpie::classifier::Classifier;
use magpie::export::Precision;
use magpie::head::{HeadConfig, HeadKind};
use magpie::image::RgbaImage;
use magpie::train_config::TrainConfig;
use pollster::block_on;

/// Photos the classifier never saw: two ImageNet photos and two hands.
fn photos() -> Vec<RgbaImage> {
    vec![
        photo("chelsea.png"),
        photo("coffee.png"),
        sign_digit_photo("1", 40),
        sign_digit_photo("7", 41),
    ]
}

/// A classifier trained on two photos of each Sign Language digit.
fn trained(backbone: &Backbone, config: TrainConfig) -> Classifier {
    trained_on_digits(backbone, config)
}

/// Exports `classifier` with f32 weights, runs it with onnxruntime and compares with the app's
/// probabilities: within 1e-4, the same top class.
fn check(name: &str, backbone: &Backbone, classifier: &Classifier) {
    let (theirs, ours) = run(name, backbone, classifier, Precision::F32);
    for (theirs, ours) in theirs.iter().zip(&ours) {
        let difference = largest_difference(theirs, ours);
        assert!(
            difference < 1e-4,
            "{name}: onnxruntime {theirs:?}\nmagpie {ours:?}"
        );
        let best = |p: &[f32]| classifier.ranked(p)[0].label.clone();
        assert_eq!(best(theirs), best(ours), "{name}");
    }
}

/// onnxruntime's and the app's probabilities for [`photos`], the export's labels checked.
fn run(
    name: &str,
    backbone: &Backbone,
    classifier: &Classifier,
    precision: Precision,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let bytes = block_on(magpie::export::onnx(backbone, classifier, precision)).unwrap();
    let path = std::env::temp_dir().join(format!("magpie-{name}-{}.onnx", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let images = photos();
    let ours = {
        let views: Vec<_> = images.iter().map(RgbaImage::view).collect();
        block_on(classifier.probabilities(backbone, &views, &cpu())).unwrap()
    };
    let run = onnxruntime(&path, &images, backbone.kind.input_size());
    std::fs::remove_file(&path).unwrap();
    assert_eq!(run.labels, classifier.info.labels);
    assert_eq!(run.probabilities.len(), images.len());
    (run.probabilities, ours)
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max)
}

fn head(kind: HeadKind) -> HeadConfig {
    HeadConfig {
        hidden: 32,
        ..HeadConfig::of(kind)
    }
}

#[test]
fn mobilenet_v2_spatial_mlp_and_pooled_linear() {
    let model = pretrained(BackboneKind::MobilenetV2, &cpu());
    let spatial = trained(&model.backbone, TrainConfig::default());
    assert_eq!(spatial.info.features, Features::Spatial);
    check("v2-spatial-mlp", &model.backbone, &spatial);
    let pooled = TrainConfig {
        head: head(HeadKind::Linear),
        features: Features::Pooled,
        ..TrainConfig::default()
    };
    check(
        "v2-pooled-linear",
        &model.backbone,
        &trained(&model.backbone, pooled),
    );
}

/// f16 weights: half the file, probabilities within 0.02 of the app's.
#[test]
fn mobilenet_v2_with_f16_weights() {
    let model = pretrained(BackboneKind::MobilenetV2, &cpu());
    let classifier = trained(&model.backbone, TrainConfig::default());
    let size = |precision| {
        block_on(magpie::export::onnx(
            &model.backbone,
            &classifier,
            precision,
        ))
        .unwrap()
        .len() as f64
    };
    let ratio = size(Precision::F16) / size(Precision::F32);
    assert!((0.45..0.55).contains(&ratio), "f16 / f32 size {ratio}");
    let (theirs, ours) = run("v2-f16", &model.backbone, &classifier, Precision::F16);
    for (theirs, ours) in theirs.iter().zip(&ours) {
        let difference = largest_difference(theirs, ours);
        assert!(
            difference < 0.02,
            "onnxruntime (f16 weights) {theirs:?}\nmagpie {ours:?}"
        );
    }
}

#[test]
fn mobilenet_v2_spatial_knn_and_fine_tuned_blocks() {
    let model = pretrained(BackboneKind::MobilenetV2, &cpu());
    let knn = TrainConfig {
        head: head(HeadKind::Knn),
        ..TrainConfig::default()
    };
    check("v2-knn", &model.backbone, &trained(&model.backbone, knn));
    let tuned = TrainConfig {
        head: head(HeadKind::Linear),
        finetune_blocks: 2,
        ..TrainConfig::default()
    };
    let tuned = trained(&model.backbone, tuned);
    assert_eq!(tuned.info.tail_blocks, 2);
    check("v2-finetuned", &model.backbone, &tuned);
}

#[test]
fn efficientnet_lite0_spatial_mlp() {
    let model = pretrained(BackboneKind::EfficientnetLite0, &cpu());
    let classifier = trained(&model.backbone, TrainConfig::default());
    check("lite0-mlp", &model.backbone, &classifier);
}

#[test]
fn mobilenet_v1_025_mlp_knn_and_fine_tuned_blocks() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    for (name, kind, finetune_blocks) in [
        ("v1-mlp", HeadKind::Mlp, 0),
        ("v1-knn", HeadKind::Knn, 0),
        ("v1-finetuned", HeadKind::Mlp, 3),
    ] {
        let config = TrainConfig {
            head: head(kind),
            finetune_blocks,
            ..TrainConfig::default()
        };
        check(name, &model.backbone, &trained(&model.backbone, config));
    }
}

/// VGG16's ImageNet weights are a 528 MB download this machine does not have: the network is
/// Burn's initialization, its graph the same.
#[test]
fn vgg16_linear_and_fine_tuned_stage() {
    let backbone = Backbone {
        kind: BackboneKind::Vgg16,
        net: BackboneNet::Vgg16(Vgg16Config::new().init(&cpu())),
    };
    for (name, finetune_blocks) in [("vgg-linear", 0), ("vgg-finetuned", 1)] {
        let config = TrainConfig {
            head: head(HeadKind::Linear),
            finetune_blocks,
            ..TrainConfig::default()
        };
        check(name, &backbone, &trained(&backbone, config));
    }
}
