//! The Teachable Machine export (`magpie::export::teachable_machine`) run by TF.js's own layers
//! loader (`tests/teachable-machine/run.mjs`, TF.js 4.22 on its CPU backend, fed as TM's library
//! feeds it: NHWC, `x / 127 − 1`): for every backbone with a layers form, a pooled MLP or linear
//! head gives the app's probabilities within 1e-4, with TM's files and metadata; heads the layers
//! format cannot express are refused with a message.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{cpu, photo, planar_pixels, pretrained, sign_digit_photo, trained_on_digits};
use magpie::backbone::{Backbone, BackboneKind, Features};
use magpie::classifier::Classifier;
use magpie::export::teachable_machine::teachable_machine;
use magpie::head::{HeadConfig, HeadKind};
use magpie::image::RgbaImage;
use magpie::project::{LIMITS, zip};
use magpie::train_config::TrainConfig;
use pollster::block_on;
use serde_json::Value;

/// A classifier with `head` on `features`, trained on two photos of each Sign Language digit.
fn trained(backbone: &Backbone, head: HeadKind, features: Features) -> Classifier {
    let head = HeadConfig {
        hidden: 32,
        ..HeadConfig::of(head)
    };
    trained_on_digits(
        backbone,
        TrainConfig {
            head,
            features,
            ..TrainConfig::default()
        },
    )
}

/// Photos the classifier never saw: an ImageNet photo and two hands.
fn photos() -> Vec<RgbaImage> {
    vec![
        photo("chelsea.png"),
        sign_digit_photo("3", 40),
        sign_digit_photo("8", 41),
    ]
}

/// TF.js's probabilities for `photos` from the export's files, with its labels and input shape.
fn tfjs(
    files: &std::collections::BTreeMap<String, Vec<u8>>,
    images: &[RgbaImage],
    size: usize,
) -> Value {
    let dir = std::env::temp_dir().join(format!(
        "magpie-tm-{}-{}",
        std::process::id(),
        unique_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::write(dir.join("pixels"), planar_pixels(images, size)).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/teachable-machine/run.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg(&dir)
        .arg(dir.join("pixels"))
        .arg(size.to_string())
        .output()
        .expect("node (scripts/setup.sh installs it, and TF.js in tests/teachable-machine)");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A suffix telling apart the folders of tests running at once.
fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn every_backbone_with_a_layers_form_runs_in_tfjs_with_the_apps_probabilities() {
    for (kind, head) in [
        (BackboneKind::MobilenetV2, HeadKind::Mlp),
        (BackboneKind::EfficientnetLite0, HeadKind::Mlp),
        (BackboneKind::MobilenetV1025, HeadKind::Linear),
    ] {
        let model = pretrained(kind, &cpu());
        let classifier = trained(&model.backbone, head, Features::Pooled);
        let zipped = block_on(teachable_machine(
            &model.backbone,
            &classifier,
            "digits",
            "2026-12-07T09:00:00.000Z",
        ))
        .unwrap();
        let files = zip::read(&zipped, &LIMITS).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["metadata.json", "model.json", "weights.bin"],
            "{kind}"
        );
        let metadata: Value = serde_json::from_slice(&files["metadata.json"]).unwrap();
        assert_eq!(
            metadata["labels"],
            serde_json::json!(classifier.info.labels),
            "{kind}"
        );
        assert_eq!(metadata["imageSize"], 224);
        assert_eq!(metadata["modelName"], "digits");
        assert_eq!(metadata["timeStamp"], "2026-12-07T09:00:00.000Z");
        assert_eq!(metadata["packageName"], "@teachablemachine/image");
        // Stock layers only: what TF.js registers without a custom class.
        let topology: Value = serde_json::from_slice(&files["model.json"]).unwrap();
        for layer in topology["modelTopology"]["config"]["layers"]
            .as_array()
            .unwrap()
        {
            let class = layer["class_name"].as_str().unwrap();
            assert!(
                [
                    "InputLayer",
                    "Rescaling",
                    "Conv2D",
                    "DepthwiseConv2D",
                    "ReLU",
                    "Add",
                    "GlobalAveragePooling2D",
                    "Dense"
                ]
                .contains(&class),
                "{kind}: {class}"
            );
        }
        let images = photos();
        let ran = tfjs(&files, &images, 224);
        assert_eq!(ran["inputShape"], serde_json::json!([null, 224, 224, 3]));
        let ours = {
            let views: Vec<_> = images.iter().map(RgbaImage::view).collect();
            block_on(classifier.probabilities(&model.backbone, &views, &cpu())).unwrap()
        };
        for (theirs, ours) in ran["probabilities"].as_array().unwrap().iter().zip(&ours) {
            let theirs: Vec<f32> = theirs
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let difference = theirs
                .iter()
                .zip(ours)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(
                difference < 1e-4,
                "{kind}: TF.js {theirs:?}\nmagpie {ours:?}"
            );
        }
    }
}

#[test]
fn heads_the_layers_format_cannot_express_are_refused() {
    let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
    let knn = trained(&model.backbone, HeadKind::Knn, Features::Pooled);
    let error = block_on(teachable_machine(&model.backbone, &knn, "x", "t")).unwrap_err();
    assert!(
        error.to_string().contains("a KNN head has no layers form"),
        "{error}"
    );
    let model = pretrained(BackboneKind::MobilenetV2, &cpu());
    let spatial = trained(&model.backbone, HeadKind::Mlp, Features::Spatial);
    let error = block_on(teachable_machine(&model.backbone, &spatial, "x", "t")).unwrap_err();
    assert!(
        error.to_string().contains("reads the spatial map"),
        "{error}"
    );
}
