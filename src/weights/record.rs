//! The backbone weight record the app downloads: a Burnpack file (burn-store) holding the
//! network's parameters, optionally in f16, and metadata naming the backbone and its labels.

use burn::store::burn_pack::Reader;
use burn::store::{BurnpackStore, HalfPrecisionAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

use super::WeightsError;
use crate::backbone::{Backbone, BackboneKind, BackboneNet};

/// Metadata key of the record's description (JSON of [`RecordInfo`]).
const INFO_KEY: &str = "magpie";

/// Storage precision of a record's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 16-bit floats (half the download), widened to f32 on load.
    F16,
}

/// What a backbone record describes, beyond its tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordInfo {
    /// Format version of this description.
    pub version: u32,
    /// The backbone's architecture.
    pub backbone: BackboneKind,
    /// One label per classifier output (ImageNet class names).
    pub labels: Vec<String>,
    /// Storage precision.
    pub precision: Precision,
    /// The upstream artifact the weights were converted from.
    pub source: String,
}

/// A backbone with its pretrained weights and ImageNet labels.
#[derive(Debug)]
pub struct PretrainedBackbone {
    /// The network.
    pub backbone: Backbone,
    /// What the record says about itself.
    pub info: RecordInfo,
}

fn record_error(e: impl std::fmt::Display) -> WeightsError {
    WeightsError::Record(e.to_string())
}

/// Serializes `backbone` and `info` into Burnpack bytes.
pub fn save(backbone: &Backbone, info: &RecordInfo) -> Result<Vec<u8>, WeightsError> {
    let json = serde_json::to_string(info).map_err(record_error)?;
    let mut store = BurnpackStore::from_bytes(None).metadata(INFO_KEY, json);
    if info.precision == Precision::F16 {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    match &backbone.net {
        BackboneNet::InvertedResidual(net) => net.save_into(&mut store),
        BackboneNet::MobileNetV1(net) => net.save_into(&mut store),
        BackboneNet::Vgg16(net) => net.save_into(&mut store),
    }
    .map_err(record_error)?;
    Ok(store.get_bytes().map_err(record_error)?.to_vec())
}

/// Reads the description of a record without loading its tensors.
pub fn info(bytes: &[u8]) -> Result<RecordInfo, WeightsError> {
    let reader = Reader::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(record_error)?;
    let json = reader
        .metadata()
        .get(INFO_KEY)
        .ok_or_else(|| WeightsError::Record("no magpie description in the record's metadata".into()))?;
    let info: RecordInfo = serde_json::from_str(json).map_err(record_error)?;
    if info.labels.len() != info.backbone.num_classes() {
        return Err(WeightsError::Record(format!(
            "{} labels for the {} classes of {}",
            info.labels.len(),
            info.backbone.num_classes(),
            info.backbone.id()
        )));
    }
    Ok(info)
}

/// Loads a record written by [`save`] onto `device`.
pub fn load(bytes: Vec<u8>, device: &Device) -> Result<PretrainedBackbone, WeightsError> {
    let info = info(&bytes)?;
    let mut backbone = Backbone::init(info.backbone, device);
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes)));
    if info.precision == Precision::F16 {
        store = store.with_from_adapter(HalfPrecisionAdapter::new());
    }
    let misfit = |detail: String| {
        // Shape errors list every tensor: keep the message readable.
        let detail: String = detail.chars().take(300).collect();
        WeightsError::Record(format!("the record does not fit {}: {detail}", info.backbone.id()))
    };
    let result = match &mut backbone.net {
        BackboneNet::InvertedResidual(net) => net.load_from(&mut store),
        BackboneNet::MobileNetV1(net) => net.load_from(&mut store),
        BackboneNet::Vgg16(net) => net.load_from(&mut store),
    }
    .map_err(|e| misfit(e.to_string()))?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        return Err(misfit(result.to_string()));
    }
    Ok(PretrainedBackbone { backbone, info })
}
