//! Export of a trained classifier as one TensorFlow Lite file (`.tflite`): the backbone, the
//! spatial rows' normalization, the head and its softmax, builtin operators only, so LiteRT's
//! stock interpreter runs it (XNNPACK included), on a phone, a Raspberry Pi, Coral or a
//! microcontroller. In f32 (float weights and activations, RGB pixels 0..=255 in) or full-integer
//! int8 (uint8 pixels in, int8 weights per channel and int8 activations throughout, uint8
//! probabilities out), its activation ranges calibrated on the project's own samples.
//! Labels and preprocessing are in the file's metadata (entry [`METADATA_NAME`], JSON).

mod build;
mod calibrate;
mod net;
mod quantize;
mod write;

use std::collections::BTreeMap;
use std::fmt;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::backbone::{Backbone, BackboneKind};
use crate::classifier::{Classifier, Head};
use crate::export::{INPUT, OUTPUT};
use crate::image::{RgbaView, batch};
use crate::project::zip;
use crate::readback::DeviceError;

use quantize::Affine;

/// Name of the metadata entry holding labels and preprocessing (JSON).
pub const METADATA_NAME: &str = "magpie";
/// At most this many samples calibrate an int8 export: their frames, as the app sees them.
/// Augmented views are left out: their extremes widen the ranges, and so every step (on
/// held-out sign digits, with a view of each frame, the int8 file's largest probability
/// difference from the f32 file fed the same pixels grew from 0.035 to 0.061).
pub const CALIBRATION_SAMPLES: usize = 48;
/// Images run through the network at once while calibrating.
const CALIBRATION_BATCH: usize = 8;

/// The numbers a TF-Lite export computes in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TflitePrecision {
    /// Float weights and activations.
    #[default]
    F32,
    /// Full-integer: int8 weights and activations, uint8 input and output.
    Int8,
}

impl TflitePrecision {
    /// `"f32"` or `"int8"`.
    pub fn id(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
        }
    }
}

/// Why a classifier has no TF-Lite export.
#[derive(Debug, Clone, PartialEq)]
pub enum TfliteError {
    /// An int8 export of the instant nearest-neighbour model: its vote (a top-k over stored
    /// rows, whole-number counts) has no full-integer form; it exports in f32.
    Knn,
    /// A layer TF-Lite's builtins do not express as the app computes it.
    Unsupported(&'static str),
    /// An int8 export of a backbone that normalizes its channels differently (one uint8 input
    /// quantization cannot express it).
    Int8Backbone(BackboneKind),
    /// An int8 export with no images to calibrate on.
    NoCalibration,
    /// The classifier was trained on another backbone.
    WrongBackbone {
        /// The backbone it was trained on.
        trained_on: BackboneKind,
        /// The backbone given.
        given: BackboneKind,
    },
    /// Reading weights or calibration results back failed.
    Device(DeviceError),
}

impl fmt::Display for TfliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Knn => f.write_str(
                "the instant (nearest-neighbour) model exports to TF Lite in f32 only: its vote has no int8 form",
            ),
            Self::Unsupported(what) => write!(f, "TF Lite cannot express {what}"),
            Self::Int8Backbone(kind) => {
                let int8: Vec<&str> = BackboneKind::ALL
                    .iter()
                    .filter(|k| input_quantization(**k).is_ok())
                    .map(|k| k.display_name())
                    .collect();
                write!(
                    f,
                    "{} exports to TF Lite in f32 only (int8: {})",
                    kind.display_name(),
                    int8.join(", ")
                )
            }
            Self::NoCalibration => {
                f.write_str("an int8 export calibrates on the project's images: there are none")
            }
            Self::WrongBackbone { trained_on, given } => {
                write!(
                    f,
                    "this classifier was trained on {trained_on}, not {given}"
                )
            }
            Self::Device(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TfliteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Device(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DeviceError> for TfliteError {
    fn from(e: DeviceError) -> Self {
        Self::Device(e)
    }
}

/// Which of `samples` samples calibrate an int8 export: at most [`CALIBRATION_SAMPLES`],
/// spread evenly over them (in the order they came, which is class by class for files and
/// imports, capture order in the app).
pub fn calibration_picks(samples: usize) -> Vec<usize> {
    let count = samples.min(CALIBRATION_SAMPLES);
    (0..count).map(|i| i * samples / count).collect()
}

/// The uint8 input's quantization of an int8 export of `kind`: its normalization, the zero
/// point rounded to a whole pixel value (MobileNetV2's 127.5 becomes 128).
fn input_quantization(kind: BackboneKind) -> Result<Affine, TfliteError> {
    let norm = kind.normalization();
    if norm.scale.iter().any(|&s| s != norm.scale[0])
        || norm.offset.iter().any(|&o| o != norm.offset[0])
    {
        return Err(TfliteError::Int8Backbone(kind));
    }
    Ok(Affine {
        scale: norm.scale[0],
        zero_point: (-norm.offset[0] / norm.scale[0]).round() as i32,
    })
}

/// The file's metadata: labels, and what its input and output hold.
fn metadata(classifier: &Classifier, precision: TflitePrecision, input: Option<Affine>) -> Vec<u8> {
    let info = &classifier.info;
    let size = info.preprocessing.input_size;
    // The input tensor's real value is (pixel - mean) / std: the pixels themselves in f32 (the
    // file normalizes them), the normalized values in int8 (whose quantization maps pixels).
    let (dtype, mean, std) = match input {
        None => ("float32", 0.0, 1.0),
        Some(q) => ("uint8", q.zero_point as f32, 1.0 / q.scale),
    };
    let value = json!({
        "labels": info.labels,
        "backbone": info.backbone.to_string(),
        "precision": precision.id(),
        "input": {
            "name": INPUT, "shape": [1, size, size, 3], "dtype": dtype, "layout": "NHWC",
            "pixels": "RGB 0..=255: the largest centred square of the image, resized bilinearly \
                       with half-pixel centres (no antialiasing)",
            "mean": [mean, mean, mean], "std": [std, std, std],
        },
        "output": {
            "name": OUTPUT, "dtype": if input.is_some() { "uint8" } else { "float32" },
            "shape": [1, info.labels.len()], "holds": "class probabilities, in the order of labels",
        },
        "unsureBelow": info.threshold(),
        "preprocessing": info.preprocessing,
    });
    serde_json::to_vec(&value).expect("a JSON value serializes")
}

/// The `.tflite` file of `classifier` on `backbone` in `precision`. An int8 export calibrates
/// on `calibration` (the project's sample images, see [`calibration_picks`]), run on `device`;
/// `progress` hears the fraction done.
pub async fn tflite(
    backbone: &Backbone,
    classifier: &Classifier,
    precision: TflitePrecision,
    calibration: &[RgbaView<'_>],
    device: &Device,
    progress: &mut dyn FnMut(f32),
) -> Result<Vec<u8>, TfliteError> {
    let kind = backbone.kind;
    if kind != classifier.info.backbone {
        return Err(TfliteError::WrongBackbone {
            trained_on: classifier.info.backbone,
            given: kind,
        });
    }
    if precision == TflitePrecision::Int8 && matches!(classifier.head, Head::Knn(_)) {
        return Err(TfliteError::Knn);
    }
    let input = match precision {
        TflitePrecision::F32 => None,
        TflitePrecision::Int8 if calibration.is_empty() => return Err(TfliteError::NoCalibration),
        TflitePrecision::Int8 => Some(input_quantization(kind)?),
    };
    let net = build::net(backbone, classifier).await?;
    let description = format!(
        "magpie few-shot classifier on {}: {} classes",
        kind.display_name(),
        classifier.info.labels.len()
    );
    let metadata = [(METADATA_NAME, metadata(classifier, precision, input))];
    let Some(input) = input else {
        let norm = kind.normalization();
        let numbers = write::Numbers::F32 {
            scale: norm.scale,
            offset: norm.offset,
        };
        return Ok(write::write(&net, &numbers, &metadata, &description));
    };
    let size = kind.input_size();
    let mut calibrating = calibrate::Calibration::new(&net, device);
    let batches = calibration.chunks(CALIBRATION_BATCH);
    let total = batches.len() as f32;
    for (done, images) in batches.enumerate() {
        let frames = images.iter().map(|image| image.center_square(size));
        calibrating.observe(batch(frames, kind, device));
        progress((done + 1) as f32 / total);
    }
    let ranges = calibrating.ranges().await?;
    let numbers = write::Numbers::Int8 {
        ranges: &ranges,
        input,
    };
    Ok(write::write(&net, &numbers, &metadata, &description))
}

/// A zip of the `.tflite` file (`model.tflite`) and `labels.txt` (a line `index label` per
/// class, as Teachable Machine's TF Lite download has), for the usual Android and Python code.
pub fn tflite_zip(model: &[u8], labels: &[String]) -> Vec<u8> {
    let text: String = labels
        .iter()
        .enumerate()
        .map(|(i, label)| format!("{i} {label}\n"))
        .collect();
    let files = BTreeMap::from([
        ("model.tflite".to_string(), model.to_vec()),
        ("labels.txt".to_string(), text.into_bytes()),
    ]);
    zip::write(&files)
}
