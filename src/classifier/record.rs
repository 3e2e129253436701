//! The trained-model record: a Burnpack file (burn-store) with the head's weights (and any
//! fine-tuned backbone blocks) plus a JSON description: labels, backbone id, preprocessing and
//! the training settings. The widget loads this format.

use burn::module::Module;
use burn::store::burn_pack::Reader;
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

use super::unsure::valid_threshold;
use super::{Classifier, ClassifierError, Head};
use crate::backbone::{Backbone, BackboneKind, BackboneTail, Features, RowKind};
use crate::head::{FeatureNorm, HeadConfig, HeadKind, HeadNet, KnnHead, MAX_CLASSES, MAX_HIDDEN};
use crate::train_config::TrainConfig;
use crate::weights::record::all_finite;

/// Metadata key of the record's description (JSON of [`ClassifierInfo`]).
const INFO_KEY: &str = "magpie-classifier";

/// Version of the classifier record format (2 added spatial features, 3 the "not sure"
/// threshold; version 1 records read as pooled, versions 1 and 2 as never "not sure").
pub const RECORD_VERSION: u32 = 3;

/// How images must be prepared for the classifier (fixed by its backbone; recorded so other
/// implementations can reproduce it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preprocessing {
    /// Square input side in pixels.
    pub input_size: usize,
    /// `"center-square"`: the largest centred square, resized bilinearly (half-pixel centres).
    pub crop: String,
    /// Input value = pixel (0..=255) * scale + offset, per R, G, B channel.
    #[serde(with = "per_channel")]
    pub scale: [f32; 3],
    /// See `scale`.
    #[serde(with = "per_channel")]
    pub offset: [f32; 3],
}

impl Preprocessing {
    /// The preprocessing of `kind`.
    pub fn of(kind: BackboneKind) -> Self {
        let norm = kind.normalization();
        Self {
            input_size: kind.input_size(),
            crop: "center-square".into(),
            scale: norm.scale,
            offset: norm.offset,
        }
    }
}

/// `[f32; 3]` written as one number when the channels agree (the MobileNets), else as an array.
mod per_channel {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Uniform(f32),
        PerChannel([f32; 3]),
    }

    pub fn serialize<S: Serializer>(values: &[f32; 3], serializer: S) -> Result<S::Ok, S::Error> {
        let uniform = values.iter().all(|v| *v == values[0]);
        if uniform {
            Repr::Uniform(values[0])
        } else {
            Repr::PerChannel(*values)
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[f32; 3], D::Error> {
        Ok(match Repr::deserialize(deserializer)? {
            Repr::Uniform(v) => [v; 3],
            Repr::PerChannel(values) => values,
        })
    }
}

/// What a classifier record says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierInfo {
    /// Format version ([`RECORD_VERSION`]).
    pub version: u32,
    /// The backbone it runs on.
    pub backbone: BackboneKind,
    /// Class names.
    pub labels: Vec<String>,
    /// Input preparation.
    pub preprocessing: Preprocessing,
    /// Backbone blocks fine-tuned and stored in the record (0: frozen backbone).
    pub tail_blocks: usize,
    /// Which backbone outputs the head reads (the effective ones; absent in version 1: pooled).
    #[serde(default = "pooled")]
    pub features: Features,
    /// Class of each stored example (KNN head only).
    pub knn_classes: Vec<usize>,
    /// Stored examples that vote: `k` times the views stored per sample (KNN head only).
    #[serde(default)]
    pub knn_votes: usize,
    /// Width of what the head reads: the pooled embedding, with the spatial map after it.
    pub feature_dim: usize,
    /// The settings it was trained with (the head among them).
    pub training: TrainConfig,
    /// Below this top-class probability a prediction is "not sure" (see [`super::unsure`]);
    /// absent before version 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsure_below: Option<f32>,
}

impl ClassifierInfo {
    /// The "not sure" threshold (0, never "not sure", for records made before it existed).
    pub fn threshold(&self) -> f32 {
        self.unsure_below.unwrap_or(0.0)
    }
}

fn pooled() -> Features {
    Features::Pooled
}

/// The tensors of a classifier record.
#[derive(Module, Debug)]
struct Parts {
    tail: Option<BackboneTail>,
    norm: Option<FeatureNorm>,
    head: Option<HeadNet>,
    knn: Option<KnnHead>,
}

fn error(e: impl std::fmt::Display) -> ClassifierError {
    ClassifierError::ModelFile(e.to_string())
}

/// Serializes a classifier into Burnpack bytes.
pub fn save(classifier: &Classifier) -> Result<Vec<u8>, ClassifierError> {
    let json = serde_json::to_string(&classifier.info).map_err(error)?;
    let (head, knn) = match &classifier.head {
        Head::Trained(head) => (Some(head.clone()), None),
        Head::Knn(knn) => (None, Some(knn.clone())),
    };
    let parts = Parts {
        tail: classifier.tail.clone(),
        norm: classifier.norm.clone(),
        head,
        knn,
    };
    let mut store = BurnpackStore::from_bytes(None).metadata(INFO_KEY, json);
    parts.save_into(&mut store).map_err(error)?;
    Ok(store.get_bytes().map_err(error)?.to_vec())
}

/// Reads the description of a classifier record.
pub fn info(bytes: &[u8]) -> Result<ClassifierInfo, ClassifierError> {
    describe(&open(Bytes::from_bytes_vec(bytes.to_vec()))?)
}

/// A reader of the record in `bytes`.
fn open(bytes: Bytes) -> Result<Reader, ClassifierError> {
    Reader::from_bytes(bytes).map_err(|e| error(format!("not a magpie model file ({e})")))
}

/// The description held by an open record.
fn describe(reader: &Reader) -> Result<ClassifierInfo, ClassifierError> {
    let json = reader
        .metadata()
        .get(INFO_KEY)
        .ok_or_else(|| error("no magpie classifier description in the file"))?;
    let info: ClassifierInfo = serde_json::from_str(json).map_err(error)?;
    if info.version > RECORD_VERSION {
        return Err(error(format!(
            "format version {} is newer than this app's {RECORD_VERSION}",
            info.version
        )));
    }
    if info.labels.len() < 2 {
        return Err(error("fewer than two classes"));
    }
    if info.unsure_below.is_some_and(|t| !valid_threshold(t)) {
        return Err(error("its \"not sure\" threshold is not a probability"));
    }
    if info.labels.len() > MAX_CLASSES {
        return Err(error(format!(
            "{} classes (at most {MAX_CLASSES})",
            info.labels.len()
        )));
    }
    Ok(info)
}

/// Refuses a description that does not fit `backbone`, or that claims more values than the
/// file holds: a hostile file must not make the loader allocate gigabytes.
fn check_sizes(
    info: &ClassifierInfo,
    backbone: &Backbone,
    file_bytes: usize,
) -> Result<(), ClassifierError> {
    let rows = RowKind::of(backbone.kind, info.features, info.tail_blocks);
    if rows.features() != info.features {
        return Err(error(format!(
            "{} has no {} features with {} fine-tuned blocks",
            backbone.kind, info.features, info.tail_blocks
        )));
    }
    let dim = rows.head_input(backbone.kind);
    if info.feature_dim != dim {
        return Err(error(format!(
            "the model takes {} features, but {} gives {dim}",
            info.feature_dim, backbone.kind
        )));
    }
    let head = &info.training.head;
    if head.kind == HeadKind::Mlp && !(1..=MAX_HIDDEN).contains(&head.hidden) {
        return Err(error(format!(
            "{} hidden units (1 to {MAX_HIDDEN})",
            head.hidden
        )));
    }
    if !(0.0..1.0).contains(&head.dropout) {
        return Err(error(format!("dropout {} (0 to 1)", head.dropout)));
    }
    let classes = info.labels.len();
    let norm = if info.features == Features::Spatial {
        dim
    } else {
        0
    };
    let values = norm
        + match head.kind {
            HeadKind::Linear => (dim + 1) * classes,
            HeadKind::Mlp => head.hidden * (dim + 1 + classes) + classes,
            HeadKind::Knn => info.knn_classes.len().saturating_mul(dim),
        };
    // Every stored value takes at least two bytes (f16).
    if values.saturating_mul(2) > file_bytes {
        return Err(error(format!(
            "its description needs {values} values, more than the {file_bytes}-byte file holds"
        )));
    }
    Ok(())
}

/// Refuses NaN or infinite weights: they would turn every prediction into NaN.
fn check_finite(reader: Reader) -> Result<(), ClassifierError> {
    let tensors = reader
        .into_tensors()
        .map_err(|e| error(format!("not a magpie model file ({e})")))?;
    for tensor in tensors {
        if !all_finite(tensor.dtype, &tensor.to_bytes().map_err(error)?) {
            return Err(error(format!(
                "tensor '{}' holds NaN or infinite values",
                tensor.name
            )));
        }
    }
    Ok(())
}

/// Loads a classifier record for `backbone` onto `device`.
pub fn load(
    bytes: Vec<u8>,
    backbone: &Backbone,
    device: &Device,
) -> Result<Classifier, ClassifierError> {
    let file_bytes = bytes.len();
    // Shared, so the reader and the store below see the same buffer without copying it.
    let bytes = Bytes::from_bytes_vec(bytes).shared();
    let reader = open(bytes.clone())?;
    let info = describe(&reader)?;
    if info.backbone != backbone.kind {
        return Err(error(format!(
            "the model needs backbone {}, not {}",
            info.backbone, backbone.kind
        )));
    }
    if info.tail_blocks > backbone.num_blocks() {
        return Err(error(format!(
            "{} fine-tuned blocks, but {} has {}",
            info.tail_blocks,
            backbone.kind,
            backbone.num_blocks()
        )));
    }
    check_sizes(&info, backbone, file_bytes)?;
    check_finite(reader)?;
    let classes = info.labels.len();
    let head_config: &HeadConfig = &info.training.head;
    let (head, knn) = match head_config.kind {
        HeadKind::Knn => {
            if info.knn_classes.iter().any(|&c| c >= classes) {
                return Err(error("a stored example has a class that does not exist"));
            }
            let knn = KnnHead::placeholder(
                info.knn_classes.len(),
                info.feature_dim,
                info.knn_classes.clone(),
                classes,
                info.knn_votes.max(1),
                device,
            );
            (None, Some(knn))
        }
        _ => (head_config.init(info.feature_dim, classes, 0, device), None),
    };
    let tail = (info.tail_blocks > 0).then(|| backbone.tail(info.tail_blocks).fork(device));
    let norm = (info.features == Features::Spatial)
        .then(|| FeatureNorm::placeholder(info.feature_dim, backbone.kind.feature_dim(), device));
    let mut parts = Parts {
        tail,
        norm,
        head,
        knn,
    };
    let mut store = BurnpackStore::from_bytes(Some(bytes));
    let result = parts.load_from(&mut store).map_err(|e| {
        error(format!(
            "the file does not fit its description: {}",
            e.to_string().chars().take(300).collect::<String>()
        ))
    })?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        return Err(error(format!(
            "the file does not fit its description: {}",
            result.to_string().chars().take(300).collect::<String>()
        )));
    }
    let head = match (parts.head, parts.knn) {
        (Some(head), _) => Head::Trained(head),
        (None, Some(knn)) => Head::Knn(knn),
        (None, None) => return Err(error("no head in the file")),
    };
    Ok(Classifier {
        info,
        tail: parts.tail,
        norm: parts.norm,
        head,
        device: device.clone(),
    })
}
