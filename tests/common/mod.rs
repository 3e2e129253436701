//! Shared helpers of the native integration tests: real weights from the asset folder, real
//! photos with their acceptable ImageNet labels.
#![allow(dead_code)]

pub mod signs_project;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use magpie::backbone::BackboneKind;
use magpie::image::RgbaImage;
use magpie::import;
use magpie::weights::assets::assets_dir;
use magpie::weights::{PretrainedBackbone, record};

/// The CPU device.
pub fn cpu() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}

/// A real photo from the asset folder.
pub fn photo(name: &str) -> RgbaImage {
    let path = assets_dir().join("images").join(name);
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/weights.sh)", path.display()));
    RgbaImage::decode(&bytes).expect("test photos decode")
}

/// `(file, acceptable labels)` rows of `tests/fixtures/expected.tsv`.
pub fn expected() -> Vec<(String, Vec<String>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/expected.tsv");
    std::fs::read_to_string(path)
        .expect("expected.tsv is committed")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (file, labels) = l.split_once('\t').expect("file<TAB>labels");
            (
                file.to_string(),
                labels.split('|').map(str::to_string).collect(),
            )
        })
        .collect()
}

/// The backbone converted from its upstream artifact, through a Burnpack record (as the app loads it).
pub fn pretrained(kind: BackboneKind, device: &burn::tensor::Device) -> PretrainedBackbone {
    let imported = import::import_from_assets(kind, device)
        .unwrap_or_else(|e| panic!("importing {kind}: {e}"));
    let bytes = record::save(&imported.backbone, &imported.info).expect("saving a record");
    record::load(bytes, device).expect("loading the record just saved")
}

/// Folder of the Sign Language Digits dataset (10 classes of 100x100 hand photos).
pub fn sign_digits_dir() -> PathBuf {
    assets_dir().join("datasets/sign-language-digits/Dataset")
}

/// The first `per_class` photos (in file-name order) of each Sign Language Digits class.
pub fn sign_digits(per_class: usize) -> magpie::dataset::Dataset {
    let mut dataset = magpie::dataset::load_folder(&sign_digits_dir())
        .unwrap_or_else(|e| panic!("{e} (run scripts/weights.sh)"));
    let mut taken = vec![0; dataset.labels.len()];
    dataset.samples.retain(|s| {
        taken[s.class] += 1;
        taken[s.class] <= per_class
    });
    dataset
}

/// Inputs a fuzz test tries: `default`, or `$MAGPIE_FUZZ_CASES` for a longer campaign.
pub fn fuzz_cases(default: usize) -> usize {
    std::env::var("MAGPIE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: a tiny deterministic generator.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    /// A value that tends to hit edge cases of length and offset fields.
    pub fn interesting(&mut self, len: usize) -> u32 {
        let len = len as u32;
        let picks = [
            0,
            1,
            0x7F,
            0x80,
            0xFF,
            0xFFFF,
            0xFFFE,
            0x7FFF_FFFF,
            0xFFFF_FFFF,
            len,
            len.wrapping_sub(1),
            len.wrapping_add(1),
        ];
        if self.below(4) == 0 {
            self.next() as u32
        } else {
            picks[self.below(picks.len())]
        }
    }
}

/// Python with onnxruntime and LiteRT, from `scripts/setup.sh`.
pub fn onnx_python() -> PathBuf {
    std::env::var_os("MAGPIE_ONNX_PYTHON").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/magpie/onnx-venv/bin/python")
        },
        PathBuf::from,
    )
}

/// What onnxruntime computed: the labels in the file and each image's probabilities.
#[derive(serde::Deserialize)]
pub struct OnnxRun {
    /// Class names, in output order.
    pub labels: Vec<String>,
    /// Each image's class probabilities.
    pub probabilities: Vec<Vec<f32>>,
}

/// Runs the ONNX file at `model` with onnxruntime on `images`, as its input documents them:
/// the centre square at `size` px, RGB 0..=255.
pub fn onnxruntime(model: &Path, images: &[RgbaImage], size: usize) -> OnnxRun {
    let pixels_path = model.with_extension("pixels");
    std::fs::write(&pixels_path, planar_pixels(images, size)).unwrap();
    let run = python_json("onnx/run.py", &[model.as_os_str(), pixels_path.as_os_str()]);
    std::fs::remove_file(&pixels_path).unwrap();
    run
}

/// Runs `tests/<script>` on `args` with the Python of [`onnx_python`]; what it printed, as
/// JSON.
pub fn python_json<T: serde::de::DeserializeOwned>(script: &str, args: &[&OsStr]) -> T {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let python = onnx_python();
    let out = Command::new(&python)
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", python.display()));
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What LiteRT computed (`tests/tflite/run.py`).
#[derive(serde::Deserialize)]
pub struct LiteRun {
    /// Class names, from the file's metadata.
    pub labels: Vec<String>,
    /// Each image's class probabilities (dequantized from an int8 file's uint8).
    pub probabilities: Vec<Vec<f32>>,
    /// The input's element type (`float32`, `uint8`).
    pub input: String,
    /// The output's element type.
    pub output: String,
    /// The builtin operators the file uses (`CUSTOM` for any custom one).
    pub operators: Vec<String>,
}

/// Runs the TF-Lite file at `model` with LiteRT on `images` (the whole images: run.py crops and
/// resizes them as the file's metadata says), with `resolver` (`AUTO`: XNNPACK;
/// `BUILTIN_WITHOUT_DEFAULT_DELEGATES`: the builtin kernels alone).
pub fn litert(model: &Path, images: &[RgbaImage], resolver: &str) -> LiteRun {
    let images_path = model.with_extension("rgb");
    let mut bytes = Vec::new();
    for image in images {
        bytes.extend((image.width as u32).to_le_bytes());
        bytes.extend((image.height as u32).to_le_bytes());
        bytes.extend(image.pixels.chunks_exact(4).flat_map(|p| &p[..3]));
    }
    std::fs::write(&images_path, bytes).unwrap();
    let args = [
        model.as_os_str(),
        images_path.as_os_str(),
        OsStr::new(resolver),
    ];
    let run = python_json("tflite/run.py", &args);
    std::fs::remove_file(&images_path).unwrap();
    run
}

/// Each image's centre square at `size` px, planar RGB f32 0..=255, little-endian: what the export
/// runners (`tests/onnx/run.py`, `tests/teachable-machine/run.mjs`) read.
pub fn planar_pixels(images: &[RgbaImage], size: usize) -> Vec<u8> {
    images
        .iter()
        .flat_map(|image| image.view().center_square(size))
        .flatten()
        .flat_map(f32::to_le_bytes)
        .collect()
}

/// A classifier of `config` (15 epochs, nothing held out, no augmentation) trained on two photos
/// of each Sign Language digit, on the CPU.
pub fn trained_on_digits(
    backbone: &magpie::backbone::Backbone,
    config: magpie::train_config::TrainConfig,
) -> magpie::classifier::Classifier {
    let config = magpie::train_config::TrainConfig {
        epochs: 15,
        validation_fraction: 0.0,
        augment: magpie::augment::AugmentConfig::none(),
        ..config
    };
    fitted_on_digits(backbone, &config, 2)
}

/// A classifier of `config`, as it is, trained on the first `per_class` photos of each Sign
/// Language digit, on the CPU.
pub fn fitted_on_digits(
    backbone: &magpie::backbone::Backbone,
    config: &magpie::train_config::TrainConfig,
    per_class: usize,
) -> magpie::classifier::Classifier {
    use magpie::training::{CancelToken, Stages, fit};
    let stages = Stages {
        backbone: cpu(),
        head: cpu(),
    };
    pollster::block_on(fit(
        backbone,
        &sign_digits(per_class),
        config,
        &stages,
        &mut |_| {},
        &CancelToken::default(),
    ))
    .unwrap()
    .classifier
}

/// Photo `index` (in file-name order) of Sign Language digit `class`.
pub fn sign_digit_photo(class: &str, index: usize) -> RgbaImage {
    let mut files: Vec<_> = std::fs::read_dir(sign_digits_dir().join(class))
        .unwrap_or_else(|e| panic!("{e} (run scripts/weights.sh)"))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    RgbaImage::decode(&std::fs::read(&files[index]).unwrap()).unwrap()
}
