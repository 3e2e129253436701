//! A real project: Sign Language Digits photos (their JPEG bytes as captured samples) and a KNN
//! classifier trained on their MobileNetV1 0.25 embeddings, for the project-file and model-file
//! tests.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use magpie::augment::AugmentConfig;
use magpie::backbone::BackboneKind;
use magpie::classifier;
use magpie::dataset::{Dataset, Sample};
use magpie::head::{HeadConfig, HeadKind};
use magpie::image::RgbaImage;
use magpie::project::{ClassEntry, FORMAT, Manifest, Project, SampleEntry, VERSION};
use magpie::train_config::TrainConfig;
use magpie::training::{CancelToken, Stages, fit};
use pollster::block_on;
use serde_json::json;

use super::{cpu, pretrained, sign_digits_dir};

/// The projects.
pub struct Fixtures {
    /// Three classes, two photos each, and a model.
    pub project: Project,
    /// Two classes, one photo each, and a model: small enough to cut at every length.
    pub small: Project,
}

/// The fixtures, made once per test binary.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let model = pretrained(BackboneKind::MobilenetV1025, &cpu());
        let build = |classes: &[(&str, &str)], per_class: usize| {
            let mut files = BTreeMap::new();
            let mut entries = Vec::new();
            let mut dataset = Dataset::default();
            for (class, (name, folder)) in classes.iter().enumerate() {
                let dir = sign_digits_dir().join(folder);
                let mut paths: Vec<_> = std::fs::read_dir(&dir)
                    .unwrap_or_else(|e| panic!("{}: {e} (run scripts/weights.sh)", dir.display()))
                    .map(|e| e.unwrap().path())
                    .collect();
                paths.sort();
                let mut samples = Vec::new();
                for (i, path) in paths.iter().take(per_class).enumerate() {
                    let bytes = std::fs::read(path).unwrap();
                    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "{} is a JPEG", path.display());
                    let id = format!("{name}-{i}");
                    let file = format!("images/{name}/{id}.jpg");
                    let image = RgbaImage::decode(&bytes).unwrap();
                    dataset.samples.push(Sample { id: id.clone(), class, image });
                    files.insert(file.clone(), bytes);
                    samples.push(SampleEntry { id, file });
                }
                dataset.labels.push(name.to_string());
                entries.push(ClassEntry { name: name.to_string(), samples });
            }
            let config = TrainConfig {
                head: HeadConfig { kind: HeadKind::Knn, k: 1, ..HeadConfig::default() },
                validation_fraction: 0.0,
                augment: AugmentConfig::none(),
                ..TrainConfig::default()
            };
            let stages = Stages { backbone: cpu(), head: cpu() };
            let fitted = block_on(fit(&model.backbone, &dataset, &config, &stages, &mut |_| {}, &CancelToken::default())).unwrap();
            let record = classifier::save(&fitted.classifier).unwrap();
            // The record is a real, loadable model.
            let loaded = classifier::load(record.clone(), &model.backbone, &cpu()).unwrap();
            assert_eq!(loaded.info, fitted.classifier.info);
            files.insert("model.bpk".to_string(), record);
            // The settings as the app stores them (www/core/settings.js).
            let settings = json!({ "head": "knn", "k": 1, "epochs": 100, "batchSize": 16, "learningRate": 0.001, "hidden": 100, "views": 0, "finetuneBlocks": 0 });
            let manifest = Manifest {
                format: FORMAT.to_string(),
                version: VERSION,
                name: "Hand signs ✋".to_string(),
                backbone: BackboneKind::MobilenetV1025,
                classes: entries,
                settings: settings.as_object().unwrap().clone(),
                model: Some("model.bpk".to_string()),
            };
            Project { manifest, files }
        };
        let project = build(&[("zero", "0"), ("one", "1"), ("two", "2")], 2);
        let small = build(&[("zero", "0"), ("one", "1")], 1);
        Fixtures { project, small }
    })
}
