//! The TF-Lite export run by LiteRT's stock interpreter (PyPI `ai-edge-litert`,
//! `tests/tflite/run.py`, preprocessing from the file's own metadata) on held-out photos, with
//! XNNPACK and with the builtin kernels alone: f32 gives the app's top class on every photo and
//! its probabilities within 1e-3; full-integer int8, calibrated on the training photos, the same
//! top class on at least 95 % of them and probabilities within 0.05.

mod common;

use std::path::Path;
use std::process::Command;

use common::{cpu, onnx_python, photo, pretrained, sign_digit_photo, trained_on_digits};
use magpie::backbone::{Backbone, BackboneKind, BackboneNet, Vgg16Config};
use magpie::classifier::Classifier;
use magpie::export::tflite::{TfliteError, TflitePrecision, tflite};
use magpie::head::{HeadConfig, HeadKind};
use magpie::image::RgbaImage;
use magpie::train_config::TrainConfig;
use pollster::block_on;

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// What LiteRT computed.
#[derive(serde::Deserialize)]
struct LiteRun {
    labels: Vec<String>,
    probabilities: Vec<Vec<f32>>,
    input: String,
    output: String,
    operators: Vec<String>,
}

/// Photos the classifier never saw: two of each digit and two ImageNet photos.
fn held_out() -> Vec<RgbaImage> {
    let mut photos: Vec<RgbaImage> = DIGITS
        .iter()
        .flat_map(|d| [sign_digit_photo(d, 40), sign_digit_photo(d, 41)])
        .collect();
    photos.extend([photo("chelsea.png"), photo("coffee.png")]);
    photos
}

/// The photos the classifier trained on: what an int8 export calibrates on.
fn training_photos() -> Vec<RgbaImage> {
    DIGITS
        .iter()
        .flat_map(|d| [sign_digit_photo(d, 0), sign_digit_photo(d, 1)])
        .collect()
}

/// Runs `model` with LiteRT (`resolver`: see run.py) on `images`.
fn litert(model: &Path, images: &[RgbaImage], resolver: &str) -> LiteRun {
    let images_path = model.with_extension("rgb");
    let mut bytes = Vec::new();
    for image in images {
        bytes.extend((image.width as u32).to_le_bytes());
        bytes.extend((image.height as u32).to_le_bytes());
        bytes.extend(image.pixels.chunks_exact(4).flat_map(|p| &p[..3]));
    }
    std::fs::write(&images_path, bytes).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tflite/run.py");
    let python = onnx_python();
    let out = Command::new(&python)
        .arg(script)
        .arg(model)
        .arg(&images_path)
        .arg(resolver)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", python.display()));
    std::fs::remove_file(&images_path).unwrap();
    assert!(
        out.status.success(),
        "LiteRT: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn export(
    backbone: &Backbone,
    classifier: &Classifier,
    precision: TflitePrecision,
) -> Result<Vec<u8>, TfliteError> {
    let calibration = training_photos();
    let views: Vec<_> = calibration.iter().map(RgbaImage::view).collect();
    block_on(tflite(
        backbone,
        classifier,
        precision,
        &views,
        &cpu(),
        &mut |_| {},
    ))
}

/// Exports `classifier` in `precision`, runs it with LiteRT with and without XNNPACK, and
/// compares with the app: returns the share of photos with the app's top class and the largest
/// probability difference.
fn compare(
    name: &str,
    backbone: &Backbone,
    classifier: &Classifier,
    precision: TflitePrecision,
) -> (f32, f32) {
    let bytes = export(backbone, classifier, precision).unwrap();
    let path = std::env::temp_dir().join(format!("magpie-{name}-{}.tflite", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let images = held_out();
    let ours = {
        let views: Vec<_> = images.iter().map(RgbaImage::view).collect();
        block_on(classifier.probabilities(backbone, &views, &cpu())).unwrap()
    };
    let best = |p: &[f32]| classifier.ranked(p)[0].class;
    let mut agree = 0;
    let mut largest = 0f32;
    for resolver in ["AUTO", "BUILTIN_WITHOUT_DEFAULT_DELEGATES"] {
        let run = litert(&path, &images, resolver);
        assert_eq!(run.labels, classifier.info.labels, "{name}");
        let integer = precision == TflitePrecision::Int8;
        assert_eq!(run.input, if integer { "uint8" } else { "float32" });
        assert_eq!(run.output, if integer { "uint8" } else { "float32" });
        assert!(
            !run.operators
                .iter()
                .any(|op| op == "CUSTOM" || op.starts_with("FLEX")),
            "{name}: {:?}",
            run.operators
        );
        for (theirs, ours) in run.probabilities.iter().zip(&ours) {
            agree += usize::from(best(theirs) == best(ours));
            let difference = theirs
                .iter()
                .zip(ours)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            largest = largest.max(difference);
        }
    }
    std::fs::remove_file(&path).unwrap();
    let share = agree as f32 / (2 * images.len()) as f32;
    eprintln!("{name}: top class agrees on {share:.3}, largest difference {largest:.2e}");
    (share, largest)
}

fn check_f32(name: &str, backbone: &Backbone, classifier: &Classifier) {
    let (share, largest) = compare(name, backbone, classifier, TflitePrecision::F32);
    assert_eq!(share, 1.0, "{name}: f32 top classes differ");
    assert!(
        largest < 1e-3,
        "{name}: f32 probabilities differ by {largest}"
    );
}

fn check_int8(name: &str, backbone: &Backbone, classifier: &Classifier) {
    let (share, largest) = compare(name, backbone, classifier, TflitePrecision::Int8);
    assert!(share >= 0.95, "{name}: int8 agrees on {share}");
    assert!(
        largest < 0.05,
        "{name}: int8 probabilities differ by {largest}"
    );
}

fn head(kind: HeadKind) -> HeadConfig {
    HeadConfig {
        hidden: 32,
        ..HeadConfig::of(kind)
    }
}

/// The default path: MobileNetV2, spatial rows, the MLP head.
#[test]
fn mobilenet_v2_default_head_f32_and_int8() {
    let model = pretrained(BackboneKind::MobilenetV2, &cpu());
    let classifier = trained_on_digits(&model.backbone, TrainConfig::default());
    check_f32("v2-f32", &model.backbone, &classifier);
    check_int8("v2-int8", &model.backbone, &classifier);
}
